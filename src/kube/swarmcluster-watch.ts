// A watch on every SwarmCluster that misses nothing: list (resourceVersion R), emit
// 'resync' for every cluster known before or now, watch from R, and keep R moving with
// every event and bookmark. When the watch ends (the API server closed it, restarted, or
// the connection broke) it resumes from the last R; when R is too old (410 Gone, or an
// ERROR event carrying 410) it lists again. A consumer therefore sees every change, as an
// event or as a resync, the same contract the etcd spec watch keeps.
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { messageOf } from '../errors.ts';
import type { ClusterWatchEvent, Watcher } from '../store/port.ts';
import type { WatchLogger, WatchTuning } from '../store/store-watch.ts';
import { statusOf } from './kube-errors.ts';
import { SWARMCLUSTERS_PATH, type KubeObject, type SwarmClusterApi } from './swarmcluster-api.ts';

export async function watchSwarmClusters(
  kc: KubeConfig,
  api: Pick<SwarmClusterApi, 'list'>,
  onEvent: (e: ClusterWatchEvent) => void,
  logger?: WatchLogger,
  tuning: WatchTuning = {},
): Promise<Watcher> {
  const watch = new Watch(kc);
  const known = new Set<string>();
  let resourceVersion: string | undefined;
  let closed = false;
  let abort: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  let retryMs = tuning.retryMs ?? 250;
  let generation = 0;

  const emit = (e: ClusterWatchEvent): void => {
    try {
      onEvent(e);
    } catch (err) {
      logger?.warn({ err: messageOf(err), cluster: e.name }, 'Watch consumer threw; event dropped');
    }
  };

  const relist = async (): Promise<void> => {
    const { items, resourceVersion: rv } = await api.list();
    const names = new Set(items.map((o) => o.metadata.name));
    for (const name of [...new Set([...known, ...names])].sort()) emit({ name, type: 'resync' });
    known.clear();
    for (const n of names) known.add(n);
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
    if (phase === 'BOOKMARK') return;
    const name = o.metadata.name;
    if (phase === 'DELETED') {
      known.delete(name);
      emit({ name, type: 'delete' });
    } else {
      known.add(name);
      emit({ name, type: 'put' });
    }
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
        if (mine === generation) onWatchEvent(phase, obj as KubeObject);
      },
      (err: unknown) => {
        if (mine !== generation || closed) return;
        if (statusOf(err) === 410) resourceVersion = undefined;
        if (err) logger?.warn({ err: messageOf(err) }, 'SwarmCluster watch ended; resuming');
        restart();
      },
    );
    retryMs = tuning.retryMs ?? 250;
  };

  const restart = (): void => {
    if (closed || timer) return;
    const delay = retryMs;
    retryMs = Math.min(retryMs * 2, tuning.maxRetryMs ?? 5_000);
    timer = setTimeout(() => {
      timer = undefined;
      if (closed) return;
      start().then(
        () => logger?.info({ resourceVersion }, 'SwarmCluster watch re-established'),
        (err: unknown) => {
          if (statusOf(err) === 410) resourceVersion = undefined;
          logger?.warn({ err: messageOf(err) }, 'Re-establishing the SwarmCluster watch failed; retrying');
          restart();
        },
      );
    }, delay);
  };

  await start();
  return {
    close: async () => {
      closed = true;
      generation++;
      if (timer) clearTimeout(timer);
      timer = undefined;
      abort?.abort();
    },
  };
}
