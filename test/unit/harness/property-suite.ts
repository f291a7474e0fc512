// The property suite's driver, shared by the test files that split the histories over
// vitest's workers. Each history is one integer seed (fast-check draws the seeds); a
// failure prints the seed, and SIM_SEED=<n> replays exactly that history with a trace.
import fc from 'fast-check';
import { expect } from 'vitest';
import { runHistory, type HistoryResult } from './history.ts';

export const RUNS_PER_FILE = Number(process.env.SIM_RUNS ?? 1000);
/** fast-check's own seed: fixed by default so CI is deterministic; override to explore. */
export const FC_SEED = process.env.SIM_FC_SEED === undefined ? undefined : Number(process.env.SIM_FC_SEED);

export interface SuiteStats {
  runs: number;
  convergenceChecked: number;
  frozen: number;
  cycles: number;
}

export async function runPropertySuite(defaultFcSeed: number, runs = RUNS_PER_FILE): Promise<SuiteStats> {
  const stats: SuiteStats = { runs: 0, convergenceChecked: 0, frozen: 0, cycles: 0 };
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 0x7fffffff }), async (seed) => {
      const r = await runHistory(seed);
      stats.runs += 1;
      stats.cycles += r.cycles;
      if (r.convergenceChecked) stats.convergenceChecked += 1;
      else stats.frozen += 1;
      if (r.violations.length > 0) throw new Error(failureMessage(r));
    }),
    { numRuns: runs, seed: FC_SEED ?? defaultFcSeed, endOnFailure: true },
  );
  return stats;
}

export function failureMessage(r: HistoryResult): string {
  const lines = r.violations.map((v) => `  ${v.invariant}: ${v.detail}`);
  return `history seed ${r.seed} broke ${r.violations.length} invariant(s):\n${lines.join('\n')}\nreplay: SIM_SEED=${r.seed} npx vitest run test/unit/plan-replay.test.ts`;
}

export async function replaySeed(seed: number): Promise<HistoryResult> {
  const r = await runHistory(seed, { trace: true });
  process.stdout.write(`${r.trace.join('\n')}\n`);
  expect(r.violations, failureMessage(r)).toEqual([]);
  return r;
}
