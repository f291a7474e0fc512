// The bins load dist/ when there is one (bin/load-entry.js). A test run or a bench that
// starts bins (the local provider's agents, the e2e CLI) must not run a dist/ older than
// the sources under test: when it is, the sources are run through tsx instead.
import { compiledIsCurrent } from '../../scripts/build-freshness.mjs';

/** Points every bin started from here on at the current code; says which it is. */
export function useCurrentBuild(): 'dist' | 'sources' {
  if (compiledIsCurrent()) return 'dist';
  process.env.SWARMKEEPER_FROM_SOURCES = '1';
  return 'sources';
}
