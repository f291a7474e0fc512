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
import type { KubeConfig } from '@kubernetes/client-node';
import type { ClusterWatchEvent, Watcher } from '../store/port.ts';
import type { WatchLogger, WatchTuning } from '../store/store-watch.ts';
import { eventDelivery, watchRetry } from '../store/watch-retry.ts';
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
  const watch = new (clientNode().Watch)(kc);
  /** Per name, what the controller acts on, as last reported. */
  const known = new Map<string, string>();
  let resourceVersion: string | undefined;
  let closed = false;
  let abort: AbortController | undefined;
  let generation = 0;

  const emit = eventDelivery(onEvent, logger);

  const relist = async (): Promise<void> => {
    const { items, resourceVersion: rv } = await api.list();
    const now = new Map(items.map((o) => [o.metadata.name, actedOn(o)]));
    for (const name of [...new Set([...known.keys(), ...now.keys()])].sort()) {
      if (!now.has(name)) emit({ name, type: 'delete' });
      else if (known.get(name) !== now.get(name)) emit({ name, type: 'put' });
    }
    known.clear();
    for (const [n, v] of now) known.set(n, v);
    resourceVersion = rv;
  };

  const onWatchEvent = (phase: string, obj: KubeObject | { code?: number; message?: string }): void => {
    if (phase === 'ERROR') {
      const status = obj as { code?: number; message?: string };
      // 410: R was compacted away. Anything else: start over too, it costs one list.
      logger?.warn({ code: status.code, err: status.message }, 'SwarmCluster watch error; listing again');
      resourceVersion = undefined;
      abort?.abort();
      return;
    }
    const o = obj as KubeObject;
    if (o.metadata?.resourceVersion) resourceVersion = o.metadata.resourceVersion;
    if (phase === 'BOOKMARK' || !o.metadata?.name) return;
    const name = o.metadata.name;
    if (phase === 'DELETED') {
      known.delete(name);
      emit({ name, type: 'delete' });
      return;
    }
    const v = actedOn(o);
    if (known.get(name) === v) return;
    known.set(name, v);
    emit({ name, type: 'put' });
  };

  /** Lists when needed, then watches from resourceVersion. Resolves once the watch is open. */
  const start = async (): Promise<void> => {
    if (resourceVersion === undefined) await relist();
    if (closed) return;
    const mine = ++generation;
    abort = await watch.watch(
      SWARMCLUSTERS_PATH,
      { resourceVersion, allowWatchBookmarks: true },
      (phase, obj) => {
        if (mine !== generation) return;
        // The server answers: the next failure starts again from a short delay.
        retry.reset();
        onWatchEvent(phase, obj as KubeObject);
      },
      (err: unknown) => {
        if (mine !== generation || closed) return;
        if (statusOf(err) === 410) resourceVersion = undefined;
        const name = (err as { name?: string } | null)?.name;
        // Closed by the server, or quiet until client-node's inactivity timeout: resuming is
        // routine and starts from the shortest delay; only failures make it grow.
        if (!err || name === 'TimeoutError' || name === 'AbortError') retry.reset();
        else logger?.warn({ err }, 'SwarmCluster watch ended; resuming');
        retry.schedule();
      },
    );
  };

  const retry = watchRetry(
    start,
    {
      onFailure: (err) => {
        if (statusOf(err) === 410) resourceVersion = undefined;
        logger?.warn({ err }, 'Re-establishing the SwarmCluster watch failed; retrying');
      },
    },
    tuning,
  );

  await start();
  return {
    close: async () => {
      closed = true;
      generation++;
      retry.close();
      abort?.abort();
    },
  };
}

/** The parts of an object a change of which the controller acts on. */
function actedOn(o: KubeObject): string {
  const m = o.metadata;
  return JSON.stringify([m.generation ?? 0, m.deletionTimestamp ?? '', m.finalizers ?? [], m.labels ?? {}, m.annotations ?? {}]);
}
