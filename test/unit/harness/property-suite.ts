// The property suite's driver, shared by the test files that split the histories over
// vitest's workers. fast-check draws each history (history-plan.ts) and, when one
// breaks an invariant, shrinks it to a smaller history that still does; the shrunk
// history is saved as JSON and replays with
//   SIM_HISTORY=<file> npx vitest run test/unit/history-replay.test.ts
// SIM_RUNS sets the histories per file (default 1000), SIM_FC_SEED fast-check's seed.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { historyPlan, type HistoryPlan } from './history-plan.ts';
import { runHistory, type HistoryResult } from './history.ts';

export const RUNS_PER_FILE = Number(process.env.SIM_RUNS ?? 1000);
/** fast-check's own seed: fixed by default so CI is deterministic; override to explore. */
export const FC_SEED = process.env.SIM_FC_SEED === undefined ? undefined : Number(process.env.SIM_FC_SEED);

export interface SuiteStats {
  runs: number;
  convergenceChecked: number;
  cycles: number;
  portCalls: number;
  /** Histories run until the first failure (0 when none failed). */
  failedAfter: number;
  failure?: string;
}

export async function runPropertySuite(defaultFcSeed: number, runs = RUNS_PER_FILE): Promise<SuiteStats> {
  const stats: SuiteStats = { runs: 0, convergenceChecked: 0, cycles: 0, portCalls: 0, failedAfter: 0 };
  let failing = false;
  const details = await fc.check(
    fc.asyncProperty(historyPlan, async (plan) => {
      const r = await runHistory(plan);
      if (!failing) {
        stats.runs += 1;
        stats.cycles += r.cycles;
        stats.portCalls += r.portCalls;
        if (r.convergenceChecked) stats.convergenceChecked += 1;
      }
      if (r.violations.length > 0 && !failing) {
        failing = true;
        stats.failedAfter = stats.runs;
      }
      return r.violations.length === 0;
    }),
    { numRuns: runs, seed: FC_SEED ?? defaultFcSeed },
  );
  if (details.failed && details.counterexample) {
    const [shrunk] = details.counterexample;
    stats.failure = failureMessage(
      shrunk,
      await runHistory(shrunk),
      `history ${stats.failedAfter} of this run failed first; fast-check seed ${details.seed}, path ${details.counterexamplePath ?? ''}`,
    );
  }
  return stats;
}

let failures = 0;

export function failureMessage(plan: HistoryPlan, r: HistoryResult, origin: string): string {
  // Shrunk histories tend to the same small seeds: the process id keeps concurrent runs apart.
  const file = join(tmpdir(), `swarmkeeper-history-${plan.seed}-${process.pid}-${(failures += 1)}.json`);
  writeFileSync(file, `${JSON.stringify(plan, null, 1)}\n`);
  const lines = r.violations.map((v) => `  ${v.invariant}: ${v.detail}`);
  return [
    `a history broke ${r.violations.length} invariant(s) (shrunk to ${plan.events.length} events; ${origin}):`,
    ...lines,
    `history: ${JSON.stringify(plan)}`,
    `replay: SIM_HISTORY=${file} npx vitest run test/unit/history-replay.test.ts`,
  ].join('\n');
}
