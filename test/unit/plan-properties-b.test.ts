// Property suite, second half: random fault histories through the controller as shipped
// on SimWorld (harness/history.ts), invariants checked at every port call, plan,
// precondition check and cycle. A failure is shrunk and saved for
// test/unit/history-replay.test.ts.
import { describe, expect, it } from 'vitest';
import { runPropertySuite } from './harness/property-suite.ts';

describe('controller + sim, random fault histories (2/2)', () => {
  it('keeps quorum, one membership change at a time, no repeated launch, no destructive step from a stale or incomplete view, journal before action, fenced writes; converges', async () => {
    const t0 = performance.now();
    const stats = await runPropertySuite(31415926);
    process.stdout.write(
      `histories ${stats.runs}, convergence checked ${stats.convergenceChecked}, cycles ${stats.cycles}, port calls ${stats.portCalls}, ${((performance.now() - t0) / 1000).toFixed(1)}s\n`,
    );
    expect(stats.failure).toBeUndefined();
    expect(stats.convergenceChecked).toBeGreaterThan(stats.runs / 2);
  }, 1_800_000);
});
