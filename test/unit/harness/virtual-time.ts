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

  constructor(private readonly world: SimWorld) {
    this.clock = withGlobal(globalThis).install({ now: world.now, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
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
    if (this.clock.now > this.world.now) this.world.advance(this.clock.now - this.world.now);
  }
}

function drain(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve));
}
