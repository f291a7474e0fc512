// What both spec watches (the management etcd's and the Kubernetes one) share: handing
// events to the consumer, and re-establishing a watch that ended: one attempt scheduled at a time, the delay doubling from retryMs
// up to maxRetryMs while attempts fail (backoffDelay, the loop-wide backoff), back to
// retryMs once the peer answers again.
import { backoffDelay } from '../retry.ts';
import type { ClusterWatchEvent } from './port.ts';

/**
 * `onEvent` made safe to call from a watch stream: a consumer that throws loses that one
 * event (logged), never the watch. A consumer that missed an event catches up at the
 * next resync or event of the cluster.
 */
export function eventDelivery(
  onEvent: (e: ClusterWatchEvent) => void,
  logger?: { warn(obj: object, msg: string): void },
): (e: ClusterWatchEvent) => void {
  return (e) => {
    try {
      onEvent(e);
    } catch (err) {
      logger?.warn({ err, cluster: e.name }, 'Watch consumer threw; event dropped');
    }
  };
}

export interface WatchRetryTuning {
  /** First delay before an attempt (ms), doubled after each failure. */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
}

export interface WatchRetry {
  /** Schedules an attempt after the current delay; a no-op while one is scheduled or once closed. */
  schedule(): void;
  /** The peer answered: the next failure waits the shortest delay again. */
  reset(): void;
  /** No attempt after this one. */
  close(): void;
}

/**
 * `attempt` re-establishes the watch; when it rejects, `onFailure` hears why and another
 * attempt is scheduled. `onSuccess` runs after an attempt that resolved.
 */
export function watchRetry(
  attempt: () => Promise<void>,
  handlers: { onFailure: (err: unknown) => void; onSuccess?: () => void },
  tuning: WatchRetryTuning = {},
): WatchRetry {
  const backoff = { initialMs: tuning.retryMs ?? 250, maxMs: tuning.maxRetryMs ?? 5_000 };
  /** Attempts scheduled since the peer last answered. */
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const retry: WatchRetry = {
    schedule() {
      if (closed || timer) return;
      failures += 1;
      const wait = backoffDelay(failures, backoff);
      timer = setTimeout(() => {
        timer = undefined;
        if (closed) return;
        attempt().then(
          () => handlers.onSuccess?.(),
          (err: unknown) => {
            handlers.onFailure(err);
            retry.schedule();
          },
        );
      }, wait);
    },
    reset() {
      failures = 0;
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
  return retry;
}
