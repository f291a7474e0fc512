// A per-key work queue (client-go's workqueue in miniature): one key is processed by
// one run at a time; a key added while it runs is run once more right after (changes
// are coalesced, never lost); each run says when it wants to run again; failures back
// off exponentially per key and reset on success.
import { backoffDelay } from '../retry.ts';

export interface RunOutcome {
  /** Run the key again after this long (undefined: only when added again). */
  readonly requeueAfterMs?: number;
}

export interface WorkQueueOptions {
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  readonly onError?: (key: string, err: unknown, retryInMs: number) => void;
}

interface KeyState {
  running: boolean;
  /** Added while running: run again as soon as the current run ends. */
  dirty: boolean;
  timer?: NodeJS.Timeout;
  dueAt?: number;
  failures: number;
}

export class WorkQueue {
  private readonly keys = new Map<string, KeyState>();
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly run: (key: string) => Promise<RunOutcome>,
    private readonly opts: WorkQueueOptions = {},
  ) {}

  /** Schedules `key` to run after `delayMs` (an earlier schedule wins). */
  add(key: string, delayMs = 0): void {
    if (this.stopped) return;
    const st = this.state(key);
    if (st.running) {
      if (delayMs === 0) st.dirty = true;
      else this.schedule(key, st, delayMs);
      return;
    }
    this.schedule(key, st, delayMs);
  }

  /** Whether a run of `key` is going on. */
  isRunning(key: string): boolean {
    return this.keys.get(key)?.running ?? false;
  }

  /** Forgets a key (its cluster was deleted); a run in progress finishes. */
  forget(key: string): void {
    const st = this.keys.get(key);
    if (!st) return;
    if (st.timer) clearTimeout(st.timer);
    if (!st.running) this.keys.delete(key);
  }

  /** Cancels every schedule and waits for runs in progress to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const st of this.keys.values()) if (st.timer) clearTimeout(st.timer);
    await Promise.allSettled([...this.inFlight]);
  }

  private state(key: string): KeyState {
    let st = this.keys.get(key);
    if (!st) {
      st = { running: false, dirty: false, failures: 0 };
      this.keys.set(key, st);
    }
    return st;
  }

  private schedule(key: string, st: KeyState, delayMs: number): void {
    const due = Date.now() + delayMs;
    if (st.timer && st.dueAt !== undefined && st.dueAt <= due) return;
    if (st.timer) clearTimeout(st.timer);
    st.dueAt = due;
    st.timer = setTimeout(() => this.start(key), delayMs);
  }

  private start(key: string): void {
    const st = this.state(key);
    st.timer = undefined;
    st.dueAt = undefined;
    if (this.stopped) return;
    if (st.running) {
      st.dirty = true;
      return;
    }
    st.running = true;
    st.dirty = false;
    const p = this.runOnce(key, st).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async runOnce(key: string, st: KeyState): Promise<void> {
    let next: number | undefined;
    try {
      const out = await this.run(key);
      st.failures = 0;
      next = out.requeueAfterMs;
    } catch (err) {
      st.failures++;
      next = backoffDelay(st.failures, { initialMs: this.opts.backoffInitialMs ?? 500, maxMs: this.opts.backoffMaxMs ?? 30_000 });
      this.opts.onError?.(key, err, next);
    } finally {
      st.running = false;
    }
    if (this.stopped) return;
    if (st.dirty) this.schedule(key, st, 0);
    else if (next !== undefined) this.schedule(key, st, next);
  }
}
