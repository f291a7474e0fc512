import { describe, expect, it } from 'vitest';
import { pollUntil, retrying } from './retry.ts';
import { SwarmkeeperError } from '../errors.ts';

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
    expect(await pollUntil(async () => {
      n++;
      if (n === 1) throw new Error('flaky');
      return n >= 3;
    }, { deadlineMs: 1000, intervalMs: 1 })).toBe(true);
    expect(await pollUntil(async () => false, { deadlineMs: 20, intervalMs: 5 })).toBe(false);
  });
});
