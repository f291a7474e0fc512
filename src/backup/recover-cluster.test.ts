import { describe, expect, it } from 'vitest';
import { SwarmkeeperError } from '../errors.ts';
import { poll } from './recover-cluster.ts';

describe("recover's waits", () => {
  it('retry a failed read and name the last failure when they time out', async () => {
    let t = 0;
    const input = { now: () => (t += 1000), timeoutMs: 2000, pollMs: 1 };
    let calls = 0;
    const wait = poll(input, 'the new founder', () => {
      calls++;
      return Promise.reject(new SwarmkeeperError('Unavailable', 'reading the init claim: connection refused'));
    });
    await expect(wait).rejects.toMatchObject({ code: 'Timeout' });
    await expect(wait).rejects.toThrow(
      /waiting for the new founder \(the last read failed: reading the init claim: connection refused\); is the controller running/,
    );
    expect(calls).toBeGreaterThan(1);
  });

  it('return the value once a read gives one, after failures', async () => {
    let calls = 0;
    const input = { now: () => 0, timeoutMs: 60_000, pollMs: 1 };
    const v = await poll(input, 'something', () => (++calls < 3 ? Promise.reject(new Error('not yet')) : Promise.resolve('done')));
    expect(v).toBe('done');
  });

  it('say nothing of a failure when every read answered', async () => {
    let t = 0;
    const wait = poll({ now: () => (t += 1000), timeoutMs: 1500, pollMs: 1 }, 'Ready', () => Promise.resolve(undefined));
    await expect(wait).rejects.toThrow(/waiting for Ready; is the controller running/);
  });
});
