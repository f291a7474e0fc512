// A watch on every cluster's spec key that survives etcd restarts, member failures
// and compaction. The loop: list (keys only) at revision R, emit 'resync' for every
// cluster known before or now, watch from R+1. etcd3's watcher reconnects by itself
// after a disconnect and resumes from the last revision it saw; when that revision was
// compacted meanwhile (or the watch is cancelled for any other reason) it emits
// 'error', and we start over: re-list, resync, re-watch from the new revision. A
// consumer therefore never misses a change: it either sees the event or a resync.
import type { Etcd3, Watcher as EtcdWatcher } from 'etcd3';
import { clusterNameOfKey, clustersPrefix } from './keys.ts';
import type { ClusterWatchEvent, Watcher } from './port.ts';
import { eventDelivery, watchRetry, type WatchRetryTuning } from './watch-retry.ts';

export interface WatchLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** retryMs: the delay before re-listing after a failure, doubled up to maxRetryMs. */
export interface WatchTuning extends WatchRetryTuning {
  /** Also report a put of a cluster's status key (the CLI's `get -w` and `status -w`; the controller does not want its own writes back). */
  readonly includeStatus?: boolean;
}

export async function watchClusterSpecs(
  client: Etcd3,
  prefix: string,
  onEvent: (e: ClusterWatchEvent) => void,
  logger?: WatchLogger,
  tuning: WatchTuning = {},
): Promise<Watcher> {
  const p = clustersPrefix(prefix);
  const known = new Set<string>();
  let closed = false;
  let current: EtcdWatcher | undefined;

  const isSpecKey = (key: string): string | undefined => {
    const name = clusterNameOfKey(prefix, key);
    return name !== undefined && key === `${p}${name}/spec` ? name : undefined;
  };

  /** Operator requests that need a cycle at once (a deletion, a node request), and status when asked for. */
  const isRequestKey = (key: string): string | undefined => {
    const name = clusterNameOfKey(prefix, key);
    if (name === undefined) return undefined;
    if (key === `${p}${name}/deletion` || key.startsWith(`${p}${name}/controls/`)) return name;
    return tuning.includeStatus === true && key === `${p}${name}/status` ? name : undefined;
  };

  const emit = eventDelivery(onEvent, logger);

  /** Lists, resyncs and watches from the listed revision. Resolves once the watch is created. */
  const start = async (): Promise<void> => {
    const res = await client.kv.range({ key: Buffer.from(p), range_end: Buffer.from(prefixEnd(p)), keys_only: true });
    const names = new Set<string>();
    for (const kv of res.kvs) {
      const name = isSpecKey(kv.key.toString('utf8'));
      if (name) names.add(name);
    }
    for (const name of [...new Set([...known, ...names])].sort()) emit({ name, type: 'resync' });
    known.clear();
    for (const n of names) known.add(n);
    if (closed) return;
    const next = BigInt(res.header.revision) + 1n;
    const w = await client.watch().prefix(p).startRevision(next.toString()).create();
    if (closed) {
      await w.cancel();
      return;
    }
    current = w;
    w.on('put', (kv) => {
      const key = kv.key.toString('utf8');
      const requested = isRequestKey(key);
      if (requested && known.has(requested)) emit({ name: requested, type: 'put' });
      const name = isSpecKey(key);
      if (!name) return;
      known.add(name);
      emit({ name, type: 'put' });
    });
    w.on('delete', (kv) => {
      const name = isSpecKey(kv.key.toString('utf8'));
      if (!name) return;
      known.delete(name);
      emit({ name, type: 'delete' });
    });
    w.on('disconnected', (err) => logger?.warn({ err }, 'Spec watch disconnected; reconnecting'));
    w.on('connected', () => retry.reset());
    w.on('error', (err) => {
      // Compaction of the revision we resume from, or any cancellation: start over.
      logger?.warn({ err }, 'Spec watch cancelled; re-listing');
      if (current === w) current = undefined;
      void w.cancel().catch(() => undefined);
      retry.schedule();
    });
  };

  const retry = watchRetry(
    start,
    {
      onSuccess: () => logger?.info({}, 'Spec watch re-established'),
      onFailure: (err) => logger?.warn({ err }, 'Re-listing for the spec watch failed; retrying'),
    },
    tuning,
  );

  await start();
  return {
    close: async () => {
      closed = true;
      retry.close();
      const w = current;
      current = undefined;
      if (w) await w.cancel().catch(() => undefined);
    },
  };
}

/** The smallest key greater than every key with prefix `p` (etcd's range_end for a prefix). */
function prefixEnd(p: string): Buffer {
  const b = Buffer.from(p);
  for (let i = b.length - 1; i >= 0; i--) {
    const byte = b[i] as number;
    if (byte < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i] = byte + 1;
      return end;
    }
  }
  return Buffer.from([0]);
}
