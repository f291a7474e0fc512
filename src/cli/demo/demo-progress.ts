// Follows a controller's progress events for the demo: prints each step as it starts
// and ends (with the time since the stage began) and resolves when the cluster status
// satisfies a stage's goal.
import type { ProgressEvent } from '../../controller/events.ts';
import type { SwarmClusterStatus } from '../../spec/schema.ts';

export type Print = (line: string) => void;

export type StatusGoal = (status: SwarmClusterStatus) => boolean;

export class DemoProgress {
  latest: SwarmClusterStatus | undefined;
  private stageStart = Date.now();
  private waiters: { goal: StatusGoal; resolve: () => void }[] = [];

  constructor(private readonly print: Print) {}

  readonly onEvent = (e: ProgressEvent): void => {
    if (e.type === 'step') {
      if (e.status === 'started') this.print(`  ${this.clock()} ${e.message}`);
      else if (e.status === 'failed') this.print(`  ${this.clock()}   failed (will retry): ${e.error ?? 'unknown error'}`);
      else if (e.status === 'skipped') this.print(`  ${this.clock()}   skipped: ${e.result ?? e.error ?? 'precondition no longer holds'}`);
      return;
    }
    if (e.type === 'cycle') {
      this.latest = e.status;
      for (const w of [...this.waiters]) {
        if (w.goal(e.status)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    }
  };

  startStage(): void {
    this.stageStart = Date.now();
  }

  elapsedSeconds(): number {
    return (Date.now() - this.stageStart) / 1000;
  }

  /** Resolves once a cycle reports a status meeting `goal`; rejects on timeout or abort. */
  waitFor(goal: StatusGoal, what: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(new Error('interrupted'));
    if (this.latest && goal(this.latest)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const finish = (err?: Error): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.waiters = this.waiters.filter((w) => w !== waiter);
        if (err) reject(err);
        else resolve();
      };
      const onAbort = (): void => finish(new Error('interrupted'));
      const waiter = { goal, resolve: () => finish() };
      const timer = setTimeout(
        () => finish(new Error(`${what}: not reached within ${Math.round(timeoutMs / 1000)} s (see --timeout)`)),
        timeoutMs,
      );
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private clock(): string {
    return `[${this.elapsedSeconds().toFixed(1).padStart(6)} s]`;
  }
}

/** The cluster is converged on the given counts: Ready, every node healthy. */
export function convergedOn(managers: number, workers: number): StatusGoal {
  return (s) =>
    s.phase === 'Ready' &&
    s.managers?.desired === managers &&
    s.managers.ready === managers &&
    s.workers?.desired === workers &&
    s.workers.ready === workers &&
    (s.nodes ?? []).length === managers + workers &&
    (s.nodes ?? []).every((n) => n.healthy);
}
