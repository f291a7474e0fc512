// A virtual clock for running the production controller code against SimWorld: Date,
// setTimeout and setInterval are faked (@sinonjs/fake-timers), so the controller's own
// sleeps, retries, poll intervals and call timeouts run on virtual time, and the world
// moves with the clock. settle() drives pending work from timer to timer: it lets every
// promise continuation run (one setImmediate hop, which is not faked), then jumps the
// clock to the next timer and advances the world to the same instant. performance.now()
// stays real, so wall time can still be measured.
import { withGlobal, type Clock } from '@sinonjs/fake-timers';
import type { SimWorld } from '../../../src/providers/sim/index.ts';

const realSetImmediate = setImmediate;

export class VirtualTime {
  private readonly clock: Clock;
  /** CPU time (ms) spent moving the simulated world along (the world's own work, not the controller's), when `measureSim`. */
  simCpuMs = 0;
  measureSim = false;
  /** Called at every hop of settle(): a bench samples the heap there. */
  onHop: (() => void) | undefined;

  constructor(private readonly world: SimWorld) {
    this.clock = withGlobal(globalThis).install({
      now: world.now,
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    });
  }

  get now(): number {
    return this.clock.now;
  }

  /**
   * Runs until `done()` holds (the caller's work settled, or what is left of it can never
   * settle: a crashed controller). Throws when work is pending with no timer left
   * (nothing could ever wake it), or after `maxMs` of virtual time.
   */
  async settle(done: () => boolean, maxMs = 3_600_000): Promise<void> {
    const deadline = this.clock.now + maxMs;
    for (;;) {
      await drain();
      if (done()) return;
      if (this.clock.countTimers() === 0) throw new Error('virtual time: work is pending but no timer can wake it');
      if (this.clock.now > deadline) throw new Error(`virtual time: work still pending after ${maxMs} ms`);
      this.onHop?.();
      this.clock.next();
      this.syncWorld();
    }
  }

  /** Lets `ms` pass: timers in between fire, the world's agents run. */
  async pass(ms: number): Promise<void> {
    const end = this.clock.now + ms;
    for (;;) {
      await drain();
      const next = this.clock.now + Math.min(1000, end - this.clock.now);
      this.clock.tick(next - this.clock.now);
      this.syncWorld();
      if (this.clock.now >= end) break;
    }
    await drain();
  }

  uninstall(): void {
    this.clock.uninstall();
  }

  private syncWorld(): void {
    if (this.clock.now <= this.world.now) return;
    if (!this.measureSim) {
      this.world.advance(this.clock.now - this.world.now);
      return;
    }
    const c0 = process.cpuUsage();
    this.world.advance(this.clock.now - this.world.now);
    const c = process.cpuUsage(c0);
    this.simCpuMs += (c.user + c.system) / 1000;
  }
}

function drain(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve));
}
