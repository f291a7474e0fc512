import { describe, expect, it } from 'vitest';
import { WorkQueue } from './work-queue.ts';

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('WorkQueue', () => {
  it('never runs one key twice at once and coalesces adds made during a run into one more run', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const gate = deferred();
    const q = new WorkQueue(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      runs++;
      if (runs === 1) await gate.promise;
      running--;
      return {};
    });
    q.add('a');
    await tick(5);
    expect(q.isRunning('a')).toBe(true);
    q.add('a');
    q.add('a');
    q.add('a');
    gate.resolve();
    await tick(20);
    expect(runs).toBe(2);
    expect(maxRunning).toBe(1);
    await q.stop();
  });

  it('runs different keys independently', async () => {
    const seen: string[] = [];
    const q = new WorkQueue(async (k) => {
      seen.push(k);
      return {};
    });
    q.add('a');
    q.add('b');
    await tick(10);
    expect(seen.sort()).toEqual(['a', 'b']);
    await q.stop();
  });

  it('backs off exponentially on errors and resets after a success', async () => {
    const delays: number[] = [];
    let calls = 0;
    const q = new WorkQueue(
      async () => {
        calls++;
        if (calls <= 3) throw new Error('boom');
        return {};
      },
      { backoffInitialMs: 5, backoffMaxMs: 1000, onError: (_k, _e, ms) => delays.push(ms) },
    );
    q.add('a');
    await tick(100);
    expect(delays).toEqual([5, 10, 20]);
    expect(calls).toBe(4);
    await q.stop();
  });

  it('requeues after the delay a run asks for, and an earlier add wins over a later schedule', async () => {
    const at: number[] = [];
    const q = new WorkQueue(async () => {
      at.push(Date.now());
      return { requeueAfterMs: 10_000 };
    });
    q.add('a');
    await tick(10);
    q.add('a', 0);
    await tick(10);
    expect(at).toHaveLength(2);
    await q.stop();
  });

  it('does nothing after stop', async () => {
    let calls = 0;
    const q = new WorkQueue(async () => {
      calls++;
      return { requeueAfterMs: 1 };
    });
    await q.stop();
    q.add('a');
    await tick(10);
    expect(calls).toBe(0);
  });
});
