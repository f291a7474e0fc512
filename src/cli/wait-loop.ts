// The wait loop shared by `wait`, `apply --wait` and `delete --wait`: reads the cluster
// every interval until the condition is met or the timeout passes (0: no limit). Each
// read goes through the store, so a wait survives the controller's restarts and sees
// exactly what `get` would show.
import { setTimeout as sleep } from 'node:timers/promises';
import type { EtcdClusterStore } from '../store/etcd-store.ts';
import type { StoredCluster } from '../store/port.ts';
import { isMet, type WaitFor } from './wait-for.ts';

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  /** Called after every read (apply --wait prints the journal's new steps here). */
  readonly onRead?: (cluster: StoredCluster | undefined) => Promise<void>;
}

/** True when met, false when the timeout passed first. */
export async function waitForCluster(store: EtcdClusterStore, name: string, want: WaitFor, opts: WaitOptions): Promise<boolean> {
  const deadline = opts.timeoutMs === 0 ? Number.POSITIVE_INFINITY : Date.now() + opts.timeoutMs;
  for (;;) {
    const cluster = await store.get(name);
    await opts.onRead?.(cluster);
    if (isMet(want, cluster)) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await sleep(Math.min(opts.intervalMs ?? 500, left));
  }
}
