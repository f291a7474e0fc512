import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { eventDelivery, watchRetry } from './watch-retry.ts';
import type { ClusterWatchEvent } from './port.ts';

describe('watchRetry', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  /** Times (virtual ms since the start) at which `attempt` ran. */
  function harness(outcomes: boolean[], tuning = { retryMs: 100, maxRetryMs: 350 }) {
    const at: number[] = [];
    const failures: unknown[] = [];
    const start = Date.now();
    const retry = watchRetry(
      async () => {
        at.push(Date.now() - start);
        if (!(outcomes.shift() ?? true)) throw new Error('still down');
      },
      { onFailure: (err) => failures.push(err) },
      tuning,
    );
    return { retry, at, failures };
  }

  it('doubles the delay while attempts fail, up to the ceiling', async () => {
    const { retry, at, failures } = harness([false, false, false, true]);
    retry.schedule();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(at).toEqual([100, 300, 650, 1000]);
    expect(failures).toHaveLength(3);
  });

  it('starts from the shortest delay again once reset', async () => {
    const { retry, at } = harness([false, true, true]);
    retry.schedule();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(at).toEqual([100, 300]);
    retry.schedule();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(at[2]).toBe(1_000 + 350);
    retry.reset();
    retry.schedule();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(at[3]).toBe(2_000 + 100);
  });

  it('schedules one attempt at a time and none once closed', async () => {
    const { retry, at } = harness([true, true]);
    retry.schedule();
    retry.schedule();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(at).toEqual([100]);
    retry.close();
    retry.schedule();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(at).toEqual([100]);
  });
});

describe('eventDelivery', () => {
  it('logs a consumer that throws, drops that event only, and keeps delivering', () => {
    const seen: ClusterWatchEvent[] = [];
    const warned: object[] = [];
    const deliver = eventDelivery(
      (e) => {
        if (e.name === 'bad') throw new Error('consumer broke');
        seen.push(e);
      },
      { warn: (obj) => warned.push(obj) },
    );
    deliver({ name: 'a', type: 'put' });
    expect(() => deliver({ name: 'bad', type: 'put' })).not.toThrow();
    deliver({ name: 'b', type: 'delete' });
    expect(seen).toEqual([
      { name: 'a', type: 'put' },
      { name: 'b', type: 'delete' },
    ]);
    expect(warned).toEqual([{ err: expect.objectContaining({ message: 'consumer broke' }), cluster: 'bad' }]);
  });
});
