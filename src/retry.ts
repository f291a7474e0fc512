// Waiting and trying again, in one place: the backoff every retry loop uses (initial
// delay doubling to a ceiling), a retry of calls whose peer says "try later", a poll, and
// a sleep that an AbortSignal ends.
//
// Retried codes are the peer's "try later": etcd refuses membership changes for a few
// seconds after members connect ("unhealthy cluster", an Unavailable), a learner cannot
// be promoted until it has caught up (Precondition), swarm answers Conflict when the node
// version moved. Anything else fails at once.
import { isSwarmkeeperError, type ErrorCode } from './errors.ts';

export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** The wait after `failures` failures in a row: initialMs doubling per failure, at most maxMs. */
export function backoffDelay(failures: number, b: Backoff): number {
  return Math.min(b.initialMs * 2 ** Math.max(0, failures - 1), b.maxMs);
}

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
  const backoff = { initialMs: opts.initialMs ?? 200, maxMs: opts.maxMs ?? 2000 };
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (err) {
      const wait = backoffDelay(attempt, backoff);
      const retryable = opts.retryOn.some((code) => isSwarmkeeperError(err, code));
      if (!retryable || Date.now() - started + wait > opts.deadlineMs) throw err;
      opts.onRetry?.(err, attempt, wait);
      await sleep(wait, opts.signal);
    }
  }
}

/** Polls `check` until it returns true or the deadline passes; returns whether it held. */
export async function pollUntil(
  check: () => Promise<boolean>,
  opts: { deadlineMs: number; intervalMs?: number; signal?: AbortSignal },
): Promise<boolean> {
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

/**
 * Resolves after `ms`; rejects with the signal's reason when it aborts first. Built on
 * the global setTimeout (not node:timers/promises) so that a test's fake clock drives it:
 * the property histories run the controller's retries and polls on virtual time.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
