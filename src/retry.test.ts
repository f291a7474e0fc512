import { describe, expect, it } from 'vitest';
import { backoffDelay, pollUntil, retrying, sleep } from './retry.ts';
import { SwarmkeeperError } from './errors.ts';

describe('retrying', () => {
  it('retries the codes it is told to until the call succeeds', async () => {
    let n = 0;
    const out = await retrying(
      async () => {
        if (++n < 3) throw new SwarmkeeperError('Unavailable', 'etcdserver: unhealthy cluster');
        return 'ok';
      },
      { retryOn: ['Unavailable'], deadlineMs: 5000, initialMs: 1 },
    );
    expect([out, n]).toEqual(['ok', 3]);
  });

  it('fails at once on other errors', async () => {
    let n = 0;
    const err = await retrying(
      async () => {
        n++;
        throw new SwarmkeeperError('SpecInvalid', 'bad');
      },
      { retryOn: ['Unavailable'], deadlineMs: 5000, initialMs: 1 },
    ).catch((e: unknown) => e);
    expect([(err as SwarmkeeperError).code, n]).toEqual(['SpecInvalid', 1]);
  });

  it('gives up with the last error once the deadline would pass', async () => {
    const started = Date.now();
    const err = await retrying(
      async () => {
        throw new SwarmkeeperError('Precondition', 'learner not caught up');
      },
      { retryOn: ['Precondition'], deadlineMs: 60, initialMs: 10, maxMs: 20 },
    ).catch((e: unknown) => e);
    expect((err as SwarmkeeperError).message).toBe('learner not caught up');
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('pollUntil', () => {
  it('treats a failed read as "not yet" and reports whether the condition held in time', async () => {
    let n = 0;
    expect(
      await pollUntil(
        async () => {
          n++;
          if (n === 1) throw new Error('flaky');
          return n >= 3;
        },
        { deadlineMs: 1000, intervalMs: 1 },
      ),
    ).toBe(true);
    expect(await pollUntil(async () => false, { deadlineMs: 20, intervalMs: 5 })).toBe(false);
  });
});

describe('backoffDelay', () => {
  it('doubles from the initial delay up to the ceiling', () => {
    const b = { initialMs: 500, maxMs: 8_000 };
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((n) => backoffDelay(n, b))).toEqual([500, 500, 1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
  });
});

describe('sleep', () => {
  it('rejects with the reason of the signal that ends it', async () => {
    const ac = new AbortController();
    const slept = sleep(60_000, ac.signal);
    ac.abort(new Error('leadership lost'));
    await expect(slept).rejects.toThrow('leadership lost');
  });
});
