// A watch on every SwarmCluster that misses nothing: list (resourceVersion R), report
// every cluster known before or now, watch from R, and keep R moving with every event
// and bookmark. When the watch ends (the API server closed it or restarted, the
// connection broke, or client-node's inactivity timer fired) it resumes from the last R;
// when R is too old (410 Gone, as an HTTP status or as an ERROR event) it lists again
// and reports every cluster. A consumer therefore sees every change, as an event or in
// a relist: the contract the etcd spec watch keeps.
//
// Only changes the controller acts on are reported: the generation (the spec), the
// deletion timestamp, finalizers, labels and annotations. A status-only update (the
// controller's own status write) is not, or every status write would start a cycle.
import type { KubeConfig, Watch } from '@kubernetes/client-node';
import type { ClusterWatchEvent, Watcher } from '../store/port.ts';
import type { WatchLogger, WatchTuning } from '../store/store-watch.ts';
import { eventDelivery, watchRetry, type WatchRetry } from '../store/watch-retry.ts';
import { clientNode } from './client-node.ts';
import { statusOf } from './kube-errors.ts';
import { SWARMCLUSTERS_PATH, type KubeObject, type SwarmClusterApi } from './swarmcluster-api.ts';

export async function watchSwarmClusters(
  kc: KubeConfig,
  api: Pick<SwarmClusterApi, 'list'>,
  onEvent: (e: ClusterWatchEvent) => void,
  logger?: WatchLogger,
  tuning: WatchTuning = {},
): Promise<Watcher> {
  const watch = new SwarmClusterWatch(
    new (clientNode().Watch)(kc),
    api,
    new ReportedClusters(eventDelivery(onEvent, logger)),
    logger,
    tuning,
  );
  await watch.start();
  return { close: async () => watch.close() };
}

/** Per cluster, what the controller acts on as last reported: only a change of it is reported. */
class ReportedClusters {
  private readonly known = new Map<string, string>();

  constructor(private readonly emit: (e: ClusterWatchEvent) => void) {}

  /** A fresh list: every cluster gone or changed since the last report is reported. */
  listed(items: readonly KubeObject[]): void {
    const now = new Map(items.map((o) => [o.metadata.name, actedOn(o)]));
    for (const name of [...new Set([...this.known.keys(), ...now.keys()])].sort()) {
      if (!now.has(name)) this.emit({ name, type: 'delete' });
      else if (this.known.get(name) !== now.get(name)) this.emit({ name, type: 'put' });
    }
    this.known.clear();
    for (const [n, v] of now) this.known.set(n, v);
  }

  added(o: KubeObject): void {
    const name = o.metadata.name;
    const v = actedOn(o);
    if (this.known.get(name) === v) return;
    this.known.set(name, v);
    this.emit({ name, type: 'put' });
  }

  deleted(name: string): void {
    this.known.delete(name);
    this.emit({ name, type: 'delete' });
  }
}

type WatchError = { code?: number; message?: string };

/**
 * The list-then-watch loop. `generation` tells the current watch from one that ended:
 * a late callback of an earlier watch changes nothing.
 */
class SwarmClusterWatch {
  /** Where the next watch resumes; undefined: list first. */
  private resourceVersion: string | undefined;
  private closed = false;
  private abort: AbortController | undefined;
  private generation = 0;
  private readonly retry: WatchRetry;

  constructor(
    private readonly watch: Watch,
    private readonly api: Pick<SwarmClusterApi, 'list'>,
    private readonly reported: ReportedClusters,
    private readonly logger: WatchLogger | undefined,
    tuning: WatchTuning,
  ) {
    this.retry = watchRetry(
      () => this.start(),
      {
        onFailure: (err) => {
          if (statusOf(err) === 410) this.resourceVersion = undefined;
          this.logger?.warn({ err }, 'Re-establishing the SwarmCluster watch failed; retrying');
        },
      },
      tuning,
    );
  }

  /** Lists when needed, then watches from resourceVersion. Resolves once the watch is open. */
  async start(): Promise<void> {
    if (this.resourceVersion === undefined) {
      const { items, resourceVersion } = await this.api.list();
      this.reported.listed(items);
      this.resourceVersion = resourceVersion;
    }
    if (this.closed) return;
    const mine = ++this.generation;
    this.abort = await this.watch.watch(
      SWARMCLUSTERS_PATH,
      { resourceVersion: this.resourceVersion, allowWatchBookmarks: true },
      (phase, obj) => {
        if (mine !== this.generation) return;
        // The server answers: the next failure starts again from a short delay.
        this.retry.reset();
        this.onWatchEvent(phase, obj as KubeObject | WatchError);
      },
      (err: unknown) => {
        if (mine === this.generation && !this.closed) this.onWatchEnded(err);
      },
    );
  }

  close(): void {
    this.closed = true;
    this.generation++;
    this.retry.close();
    this.abort?.abort();
  }

  private onWatchEvent(phase: string, obj: KubeObject | WatchError): void {
    if (phase === 'ERROR') {
      const status = obj as WatchError;
      // 410: R was compacted away. Anything else: start over too, it costs one list.
      this.logger?.warn({ code: status.code, err: status.message }, 'SwarmCluster watch error; listing again');
      this.resourceVersion = undefined;
      this.abort?.abort();
      return;
    }
    const o = obj as KubeObject;
    if (o.metadata?.resourceVersion) this.resourceVersion = o.metadata.resourceVersion;
    if (phase === 'BOOKMARK' || !o.metadata?.name) return;
    if (phase === 'DELETED') this.reported.deleted(o.metadata.name);
    else this.reported.added(o);
  }

  private onWatchEnded(err: unknown): void {
    if (statusOf(err) === 410) this.resourceVersion = undefined;
    const name = (err as { name?: string } | null)?.name;
    // Closed by the server, or quiet until client-node's inactivity timeout: resuming is
    // routine and starts from the shortest delay; only failures make it grow.
    if (!err || name === 'TimeoutError' || name === 'AbortError') this.retry.reset();
    else this.logger?.warn({ err }, 'SwarmCluster watch ended; resuming');
    this.retry.schedule();
  }
}

/** The parts of an object a change of which the controller acts on. */
function actedOn(o: KubeObject): string {
  const m = o.metadata;
  return JSON.stringify([m.generation ?? 0, m.deletionTimestamp ?? '', m.finalizers ?? [], m.labels ?? {}, m.annotations ?? {}]);
}
