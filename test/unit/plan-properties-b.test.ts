// Property suite, second half: random histories of spec edits, faults and controller
// crashes, invariants checked after every step (harness/history.ts). Seeds replay with
// SIM_SEED=<n> npx vitest run test/unit/plan-replay.test.ts.
import { describe, expect, it } from 'vitest';
import { runPropertySuite } from './harness/property-suite.ts';

describe('planner + sim, random histories (2/2)', () => {
  it('never loses quorum by a controller action, keeps surge/unavailability bounds, never double-launches, converges', async () => {
    const t0 = performance.now();
    const stats = await runPropertySuite(31415926);
    process.stdout.write(`histories ${stats.runs}, convergence checked ${stats.convergenceChecked}, frozen by faults ${stats.frozen}, cycles ${stats.cycles}, ${((performance.now() - t0) / 1000).toFixed(1)}s\n`);
    expect(stats.convergenceChecked).toBeGreaterThan(stats.runs / 2);
  }, 600_000);
});
