// Retrying where the peer says "try later": etcd refuses membership changes for a few
// seconds after members connect ("unhealthy cluster", an Unavailable), a learner cannot
// be promoted until it has caught up (Precondition), swarm answers Conflict when the node
// version moved. Exponential backoff with a deadline; anything else fails at once.
import { isSwarmkeeperError, type ErrorCode } from '../errors.ts';

export interface RetryOptions {
  /** Error codes worth another try. */
  readonly retryOn: readonly ErrorCode[];
  /** Give up (rethrow the last error) after this long. */
  readonly deadlineMs: number;
  readonly initialMs?: number;
  readonly maxMs?: number;
  readonly signal?: AbortSignal;
  readonly onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

export async function retrying<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const started = Date.now();
  let delay = opts.initialMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (err) {
      const retryable = opts.retryOn.some((code) => isSwarmkeeperError(err, code));
      if (!retryable || Date.now() - started + delay > opts.deadlineMs) throw err;
      opts.onRetry?.(err, attempt, delay);
      await sleep(delay, opts.signal);
      delay = Math.min(delay * 2, opts.maxMs ?? 2000);
    }
  }
}

/** Polls `check` until it returns true or the deadline passes; returns whether it held. */
export async function pollUntil(check: () => Promise<boolean>, opts: { deadlineMs: number; intervalMs?: number; signal?: AbortSignal }): Promise<boolean> {
  const started = Date.now();
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      if (await check()) return true;
    } catch {
      // A failed read is not an answer: ask again until the deadline.
    }
    if (Date.now() - started >= opts.deadlineMs) return false;
    await sleep(opts.intervalMs ?? 250, opts.signal);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
