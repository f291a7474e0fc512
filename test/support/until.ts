// Polling for tests against real peers: wait until `fn` yields a value, with a deadline
// generous enough for a loaded 2-core machine. Errors thrown by `fn` count as "not yet"
// (a peer still starting refuses connections) and the last one is reported on timeout.

export interface UntilOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  /** More to say on timeout, e.g. the tail of a peer's log. */
  readonly context?: () => string;
}

/** Resolves with the first value of `fn` that is neither undefined nor false. */
export async function until<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  opts: UntilOptions | number = {},
): Promise<T> {
  const o = typeof opts === 'number' ? { timeoutMs: opts } : opts;
  const timeoutMs = o.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const cause = last === undefined ? '' : `: ${String(last)}`;
      const context = o.context ? `; ${o.context()}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}${context}`);
    }
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 250));
  }
}

/** Calls `fn` until it resolves (a rejection counts as "not yet"); resolves with its value. */
export async function untilResolves<T>(what: string, fn: () => Promise<T>, opts: UntilOptions | number = {}): Promise<T> {
  const boxed = await until(what, async () => ({ value: await fn() }), opts);
  return boxed.value;
}

/**
 * Runs `check` every `intervalMs` (1 s) until `forMs` have passed: for a condition that
 * must keep holding (nothing replaced during a hold). A check that throws fails at once
 * with its own error. Resolves with the number of checks made.
 */
export async function holdsFor(check: () => unknown, opts: { readonly forMs: number; readonly intervalMs?: number }): Promise<number> {
  const end = Date.now() + opts.forMs;
  let checks = 0;
  for (;;) {
    await check();
    checks++;
    if (Date.now() >= end) return checks;
    await new Promise((r) => setTimeout(r, Math.min(opts.intervalMs ?? 1_000, Math.max(0, end - Date.now()))));
  }
}
