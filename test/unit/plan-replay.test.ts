// Replays one history by its seed with a full trace: SIM_SEED=<n> npx vitest run
// test/unit/plan-replay.test.ts. Without SIM_SEED it checks that a history is
// deterministic: the same seed gives the same trace twice.
import { describe, expect, it } from 'vitest';
import { runHistory } from './harness/history.ts';
import { replaySeed } from './harness/property-suite.ts';

const seed = process.env.SIM_SEED;

describe('history replay', () => {
  it.runIf(seed !== undefined)(`replays SIM_SEED=${seed ?? ''}`, async () => {
    await replaySeed(Number(seed));
  }, 120_000);

  it('a seed replays the same history', async () => {
    const a = await runHistory(4242, { trace: true });
    const b = await runHistory(4242, { trace: true });
    expect(a.trace.length).toBeGreaterThan(10);
    expect(b.trace).toEqual(a.trace);
  }, 120_000);
});
