import { describe, expect, it } from 'vitest';
import { compiledIsCurrent } from '../../scripts/build-freshness.mjs';

describe('which build the bins run', () => {
  it('the test run points bins at the sources exactly when dist/ is older than them', () => {
    expect(process.env.SWARMKEEPER_FROM_SOURCES === '1').toBe(!compiledIsCurrent());
  });
});
