// What wakes the node agent's loop before its pause is over: a change of keys.endpoints
// (watched in the background) and SIGTERM.
import type { ManagementKv } from '../store/management-kv.ts';

/** A resettable wake-up: wait(ms) resolves after ms or at the next fire(), whichever first. */
export class Wakeup {
  private pending: (() => void) | undefined;
  private fired = false;

  fire(): void {
    this.fired = true;
    this.pending?.();
  }

  wait(ms: number): Promise<void> {
    if (this.fired) {
      this.fired = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.pending = undefined;
        this.fired = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.pending = done;
    });
  }
}

/**
 * The watch of keys.endpoints, started in the background: a management etcd that is
 * down must not stop a rebooted node from resuming its own etcd member. A start that
 * failed is tried again at the next ensureStarted().
 */
export class EndpointsWatch {
  private stopWatch: (() => Promise<void>) | undefined;
  private starting = false;

  constructor(
    private readonly kv: ManagementKv,
    private readonly onChange: () => void,
    private readonly signal?: AbortSignal,
  ) {}

  ensureStarted(): void {
    if (this.stopWatch || this.starting || this.signal?.aborted) return;
    this.starting = true;
    this.kv.watchEndpoints(this.onChange).then(
      (stop) => {
        this.starting = false;
        if (this.signal?.aborted) void stop();
        else this.stopWatch = stop;
      },
      () => {
        this.starting = false;
      },
    );
  }

  async stop(): Promise<void> {
    if (this.stopWatch) await this.stopWatch();
  }
}
