// A linearizable read through a set of members: it answers only while the cluster has a
// quorum, so a sampler can tell when quorum was lost and for how long.
import { Etcd3 } from 'etcd3';

export interface QuorumProbe {
  /** Resolves when a linearizable read of `key` succeeded; rejects otherwise. */
  read(key: string): Promise<void>;
  close(): void;
}

export function etcdQuorumProbe(clientUrls: readonly string[], dialTimeoutMs = 1_000): QuorumProbe {
  const client = new Etcd3({ hosts: [...clientUrls], dialTimeout: dialTimeoutMs });
  return {
    read: async (key) => {
      await client.get(key).string();
    },
    close: () => client.close(),
  };
}
