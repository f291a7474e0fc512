// Where the EC2 end-to-end test finds what its nodes boot from: the cached node root and
// the real ignition-apply. The setup scripts own the cache keys and build what is
// missing; asking them (once per process) keeps one definition of each key.
import { execFileSync } from 'node:child_process';

const SCRIPTS = new URL('../../scripts/', import.meta.url).pathname;
let root: string | undefined;
let ignition: string | undefined;

function ask(script: string, flag: string): string {
  const out = execFileSync('bash', [`${SCRIPTS}${script}`, flag], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const last = out.split('\n').at(-1) ?? '';
  if (!last.startsWith('/')) throw new Error(`${script} ${flag} printed no path: ${out}`);
  return last;
}

/** The Debian-with-systemd-and-docker root every node overlays (scripts/setup-node-root.sh). */
export function nodeRootPath(): string {
  root ??= ask('setup-node-root.sh', '--print-root');
  return root;
}

/** The upstream ignition-apply binary (scripts/setup-ignition.sh). */
export function ignitionApplyPath(): string {
  ignition ??= ask('setup-ignition.sh', '--print-path');
  return ignition;
}
