// The management-store contract (test/support/management-contract.ts) against the
// in-memory implementation; the same suite runs against a real etcd in
// test/integration/management-contract-etcd.test.ts.
import { managementContract } from '../../test/support/management-contract.ts';
import { MemoryFencedKv } from './memory-kv.ts';
import { MemoryClusterStore } from './memory-store.ts';

managementContract('memory', () => {
  const kv = new MemoryFencedKv();
  return {
    kv,
    store: (prefix) => new MemoryClusterStore(kv, prefix),
    elect: async (key, identity) => kv.elect(key, identity),
    depose: async (fence) => kv.depose(fence),
  };
});
