// The management-store contract (test/support/management-contract.ts) against a real
// etcd: the etcd3 adapters the controller runs on. The in-memory implementation the
// simulator uses passes the same suite (src/store/memory-contract.test.ts).
import { afterAll, beforeAll } from 'vitest';
import type { Etcd3 } from 'etcd3';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';
import { managementContract } from '../support/management-contract.ts';
import { etcdFencedKv } from '../../src/store/fenced-kv.ts';
import { EtcdClusterStore } from '../../src/store/etcd-store.ts';

let etcd: EtcdTestCluster;
let client: Etcd3;

beforeAll(async () => {
  etcd = await startEtcdCluster({ size: 1 });
  client = etcd.client();
}, 60_000);

afterAll(async () => {
  client?.close();
  await etcd?.stop();
});

managementContract('etcd', () => ({
  kv: etcdFencedKv(client),
  store: (prefix) => new EtcdClusterStore(client, { prefix, ownsClient: false }),
  elect: async (key, identity) => {
    const res = await client.if(key, 'Create', '==', 0).then(client.put(key).value(identity)).commit();
    const revision = res.header.revision;
    return { key, createRevision: revision };
  },
  depose: async (fence) => {
    await client.delete().key(fence.key).exec();
  },
}));
