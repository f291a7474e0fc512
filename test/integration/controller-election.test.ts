// Must-show: two controllers started at once on real processes; only the leader acts.
// Every operation in the journal was written by the one replica that was elected, the
// other never led and never wrote, and the cluster converged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControllerHarness, type ControllerHarness } from '../support/controller-harness.ts';

const NAME = 'pair';

let h: ControllerHarness;

beforeAll(async () => {
  h = await startControllerHarness({ block: 214 });
}, 120_000);

afterAll(async () => {
  await h?.stop();
}, 180_000);

describe('controller replicas', () => {
  it('only the elected leader acts: its operations are the only ones in the journal', async () => {
    await h.apply(NAME, 1, 1);
    await Promise.all([h.startController('a'), h.startController('b')]);
    await h.waitConverged(NAME, 1, 1, 240_000);

    const elected = new Set(h.events.filter((e) => e.event.type === 'leadership' && e.event.leader).map((e) => e.identity));
    expect(elected.size).toBe(1);
    const leader = [...elected][0]!;
    const journal = await h.journalOf(NAME);
    expect(journal.length).toBeGreaterThan(0);
    expect(new Set(journal.map((e) => e.leader))).toEqual(new Set([leader]));
    // The follower did not even start a step.
    expect(h.events.filter((e) => e.identity !== leader && e.event.type === 'step')).toEqual([]);
  }, 300_000);
});
