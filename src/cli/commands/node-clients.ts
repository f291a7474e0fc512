// The etcd clients the node agent needs: one to the management etcd (spec, claim,
// endpoints, tokens) and a short-lived one to the cluster's own etcd to read its member
// list while a later manager waits for its learner entry.
import { readFileSync } from 'node:fs';
import { Etcd3, type IOptions } from 'etcd3';
import type { EtcdMember } from '../../observe/snapshot.ts';
import type { EtcdConnectionOptions } from '../global-options.ts';

export function createAgentEtcdClient(o: EtcdConnectionOptions): Etcd3 {
  const opts: IOptions = { hosts: [...o.endpoints], dialTimeout: 5_000 };
  if (o.caFile || o.certFile || o.keyFile) {
    opts.credentials = {
      rootCertificate: o.caFile ? readFileSync(o.caFile) : Buffer.alloc(0),
      ...(o.certFile ? { certChain: readFileSync(o.certFile) } : {}),
      ...(o.keyFile ? { privateKey: readFileSync(o.keyFile) } : {}),
    };
  }
  if (o.username) opts.auth = { username: o.username, password: o.password ?? '' };
  return new Etcd3(opts);
}

/** The cluster etcd's member list, read through any of `clientUrls`. */
export async function listMembersVia(clientUrls: readonly string[]): Promise<EtcdMember[]> {
  const client = new Etcd3({ hosts: [...clientUrls], dialTimeout: 3_000 });
  try {
    const res = await client.cluster.memberList({ linearizable: false });
    return (res.members ?? []).map((m) => ({
      id: m.ID,
      name: m.name,
      peerURLs: m.peerURLs,
      clientURLs: m.clientURLs,
      isLearner: m.isLearner === true,
      leader: false,
    }));
  } finally {
    client.close();
  }
}
