// No launch storm: after EC2 said "no capacity" in every subnet, launches of that role
// wait (exponential backoff, 30 s doubling to 10 min); after "quota exceeded" every
// launch waits (the quota is the account's), and the stored error keeps saying why so
// status can report Degraded with the reason. A success clears the backoff.
import { SwarmkeeperError } from '../../errors.ts';
import { backoffDelay } from '../../retry.ts';

export interface BackoffOptions {
  readonly baseMs?: number;
  readonly maxMs?: number;
}

interface Hold {
  readonly until: number;
  readonly failures: number;
  readonly error: SwarmkeeperError;
}

export class LaunchBackoff {
  private readonly holds = new Map<string, Hold>();
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(opts: BackoffOptions = {}) {
    this.baseMs = opts.baseMs ?? 30_000;
    this.maxMs = opts.maxMs ?? 600_000;
  }

  /** Throws the held Capacity error while `key` (a role, or '*' for quota) is held. */
  check(keys: readonly string[], now: number): void {
    for (const key of keys) {
      const h = this.holds.get(key);
      if (h && now < h.until) {
        throw new SwarmkeeperError('Capacity', `${h.error.message} (launches paused until ${new Date(h.until).toISOString()})`, {
          cause: h.error,
          details: { ...h.error.details, retryAt: h.until },
        });
      }
    }
  }

  fail(key: string, error: SwarmkeeperError, now: number): number {
    const failures = (this.holds.get(key)?.failures ?? 0) + 1;
    const delay = backoffDelay(failures, { initialMs: this.baseMs, maxMs: this.maxMs });
    this.holds.set(key, { until: now + delay, failures, error });
    return now + delay;
  }

  succeed(key: string): void {
    this.holds.delete(key);
  }
}
