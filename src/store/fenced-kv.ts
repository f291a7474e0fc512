// The management keys a reconcile cycle reads and writes (journal, published endpoints),
// as a narrow port: plain reads, and atomic writes fenced by leadership. The etcd3
// adapter (etcdFencedKv) is what the controller runs on; MemoryFencedKv (memory-kv.ts)
// has the same contract for the simulator, where thousands of histories must run on a
// virtual clock. One contract suite (test/support/management-contract.ts) runs against both.
import type { Etcd3 } from 'etcd3';
import { wrapError } from '../errors.ts';
import { writeFenced, type FencedOp, type WriteGuard } from './fenced-write.ts';
import type { LeaderFence } from './port.ts';

export type { FencedOp, WriteGuard } from './fenced-write.ts';

export interface FencedKv {
  /** The value at `key`, or undefined when there is none. */
  get(key: string): Promise<string | undefined>;
  /** Every key under `prefix` with its value, keys in ascending order. */
  getPrefix(prefix: string): Promise<Array<readonly [string, string]>>;
  /**
   * Applies `ops` atomically; with a fence, only while the fence key exists at the fence's
   * create revision; with a guard, only while the guard's key holds the guard's value
   * (otherwise Conflict, `details.guardKey` set for a failed guard, and nothing is written).
   */
  write(ops: readonly FencedOp[], fence: LeaderFence | undefined, context: string, guard?: WriteGuard): Promise<void>;
}

export function etcdFencedKv(client: Etcd3): FencedKv {
  return {
    async get(key) {
      try {
        return (await client.get(key).string()) ?? undefined;
      } catch (err) {
        throw wrapError(`reading ${key}`, err);
      }
    },
    async getPrefix(prefix) {
      let kvs: Record<string, string>;
      try {
        kvs = await client.getAll().prefix(prefix).strings();
      } catch (err) {
        throw wrapError(`reading ${prefix}`, err);
      }
      return Object.keys(kvs)
        .sort()
        .map((k) => [k, kvs[k]!] as const);
    },
    write: (ops, fence, context, guard) => writeFenced(client, ops, fence, context, guard),
  };
}
