// Once per test run, before any worker starts (workers inherit the environment).
import { useCurrentBuild } from './build-or-sources.ts';

export function setup(): void {
  useCurrentBuild();
}
