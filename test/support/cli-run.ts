// Runs the swarmkeeper CLI as a user does (node bin/swarmkeeper.js ...) against a test's
// management etcd, given by the global flags, and returns what it printed and its exit
// code. Synchronous: for commands that end by themselves.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI_BIN = fileURLToPath(new URL('../../bin/swarmkeeper.js', import.meta.url));

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliEtcd {
  readonly endpoints: readonly string[];
  readonly prefix: string;
}

/** `swarmkeeper --etcd-endpoints ... --prefix ... ARGS`, with `env` over this process's environment. */
export function runCli(etcd: CliEtcd, args: readonly string[], env: Record<string, string> = {}): CliRun {
  const r = spawnSync(process.execPath, [CLI_BIN, '--etcd-endpoints', etcd.endpoints.join(','), '--prefix', etcd.prefix, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
