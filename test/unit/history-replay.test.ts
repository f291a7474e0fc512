// Replays one history with a full trace: SIM_HISTORY=<file.json> npx vitest run
// test/unit/history-replay.test.ts (the property suites print the file of a shrunk
// failing history). Without it, checks that a history is deterministic: the same plan
// gives the same trace twice, through the production controller.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { historyPlan, type HistoryPlan } from './harness/history-plan.ts';
import { runHistory } from './harness/history.ts';

const file = process.env.SIM_HISTORY;

describe('history replay', () => {
  it.runIf(file !== undefined)(
    `replays SIM_HISTORY=${file ?? ''}`,
    async () => {
      const plan = JSON.parse(readFileSync(file ?? '', 'utf8')) as HistoryPlan;
      const r = await runHistory(plan, { trace: true });
      process.stdout.write(`${r.trace.join('\n')}\n`);
      expect(r.violations).toEqual([]);
    },
    300_000,
  );

  it('a history replays the same way', async () => {
    const [plan] = fc.sample(historyPlan, { seed: 4242, numRuns: 1 });
    if (!plan) throw new Error('no history drawn');
    const a = await runHistory(plan, { trace: true });
    const b = await runHistory(plan, { trace: true });
    expect(a.trace.length).toBeGreaterThan(10);
    expect(b.trace).toEqual(a.trace);
  }, 120_000);
});
