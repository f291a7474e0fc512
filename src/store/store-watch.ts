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
import { eventDelivery, watchRetry, type WatchRetry, type WatchRetryTuning } from './watch-retry.ts';

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
  const watch = new SpecWatch(
    client,
    new ClusterKeys(prefix, tuning.includeStatus === true),
    eventDelivery(onEvent, logger),
    logger,
    tuning,
  );
  await watch.start();
  return { close: () => watch.close() };
}

/** Which keys under the prefix are a cluster's spec, and which ask for a cycle at once. */
class ClusterKeys {
  readonly clusters: string;

  constructor(
    private readonly prefix: string,
    private readonly includeStatus: boolean,
  ) {
    this.clusters = clustersPrefix(prefix);
  }

  /** The cluster whose spec key this is. */
  specOf(key: string): string | undefined {
    const name = clusterNameOfKey(this.prefix, key);
    return name !== undefined && key === `${this.clusters}${name}/spec` ? name : undefined;
  }

  /** Operator requests that need a cycle at once (a deletion, a node request), and status when asked for. */
  requestOf(key: string): string | undefined {
    const name = clusterNameOfKey(this.prefix, key);
    if (name === undefined) return undefined;
    const p = this.clusters;
    if (key === `${p}${name}/deletion` || key.startsWith(`${p}${name}/controls/`)) return name;
    return this.includeStatus && key === `${p}${name}/status` ? name : undefined;
  }
}

/** The list-resync-watch loop, started again from a fresh list whenever etcd cancels the watch. */
class SpecWatch {
  /** The clusters with a spec key, as last listed or watched. */
  private readonly known = new Set<string>();
  private closed = false;
  private current: EtcdWatcher | undefined;
  private readonly retry: WatchRetry;

  constructor(
    private readonly client: Etcd3,
    private readonly keys: ClusterKeys,
    private readonly emit: (e: ClusterWatchEvent) => void,
    private readonly logger: WatchLogger | undefined,
    tuning: WatchTuning,
  ) {
    this.retry = watchRetry(
      () => this.start(),
      {
        onSuccess: () => this.logger?.info({}, 'Spec watch re-established'),
        onFailure: (err) => this.logger?.warn({ err }, 'Re-listing for the spec watch failed; retrying'),
      },
      tuning,
    );
  }

  /** Lists, resyncs and watches from the listed revision. Resolves once the watch is created. */
  async start(): Promise<void> {
    const revision = await this.resync();
    if (this.closed) return;
    const w = await this.client
      .watch()
      .prefix(this.keys.clusters)
      .startRevision((revision + 1n).toString())
      .create();
    if (this.closed) {
      await w.cancel();
      return;
    }
    this.current = w;
    w.on('put', (kv) => this.onPut(kv.key.toString('utf8')));
    w.on('delete', (kv) => this.onDelete(kv.key.toString('utf8')));
    w.on('disconnected', (err) => this.logger?.warn({ err }, 'Spec watch disconnected; reconnecting'));
    w.on('connected', () => this.retry.reset());
    w.on('error', (err) => {
      // Compaction of the revision we resume from, or any cancellation: start over.
      this.logger?.warn({ err }, 'Spec watch cancelled; re-listing');
      if (this.current === w) this.current = undefined;
      void w.cancel().catch(() => undefined);
      this.retry.schedule();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.retry.close();
    const w = this.current;
    this.current = undefined;
    if (w) await w.cancel().catch(() => undefined);
  }

  /** Lists the spec keys (keys only), reports 'resync' for every cluster known before or now; returns the list's revision. */
  private async resync(): Promise<bigint> {
    const p = this.keys.clusters;
    const res = await this.client.kv.range({ key: Buffer.from(p), range_end: Buffer.from(prefixEnd(p)), keys_only: true });
    const names = new Set<string>();
    for (const kv of res.kvs) {
      const name = this.keys.specOf(kv.key.toString('utf8'));
      if (name) names.add(name);
    }
    for (const name of [...new Set([...this.known, ...names])].sort()) this.emit({ name, type: 'resync' });
    this.known.clear();
    for (const n of names) this.known.add(n);
    return BigInt(res.header.revision);
  }

  private onPut(key: string): void {
    const requested = this.keys.requestOf(key);
    if (requested && this.known.has(requested)) this.emit({ name: requested, type: 'put' });
    const name = this.keys.specOf(key);
    if (!name) return;
    this.known.add(name);
    this.emit({ name, type: 'put' });
  }

  private onDelete(key: string): void {
    const name = this.keys.specOf(key);
    if (!name) return;
    this.known.delete(name);
    this.emit({ name, type: 'delete' });
  }
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
