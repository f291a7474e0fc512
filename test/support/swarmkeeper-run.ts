// `swarmkeeper run --http-listen` as a real process for tests: started in its own
// process group, its stderr (JSON log lines) collected, resolved once it logs where it
// serves. A process that exits first fails at once with its log tail. The group is
// killed by stop(), and by an exit hook if the test run dies before its afterAll.
import { spawn, type ChildProcess } from 'node:child_process';
import { until } from './until.ts';

const CLI = new URL('../../bin/swarmkeeper.js', import.meta.url).pathname;

export interface RunProcessOptions {
  readonly etcdEndpoints: readonly string[];
  readonly prefix: string;
  /** host:port for --http-listen (port 0: any free one). */
  readonly listen: string;
  /** More `run` flags. */
  readonly args?: readonly string[];
  readonly env?: Record<string, string>;
  readonly timeoutMs?: number;
}

export interface RunProcess {
  readonly child: ChildProcess;
  /** http://host:port the process serves on. */
  readonly baseUrl: string;
  stderr(): string;
  /** SIGKILLs the process group if it still runs. */
  stop(): void;
}

export async function startSwarmkeeperRun(o: RunProcessOptions): Promise<RunProcess> {
  const child = spawn(
    process.execPath,
    [CLI, '--etcd-endpoints', o.etcdEndpoints.join(','), '--prefix', o.prefix, 'run', '--http-listen', o.listen, ...(o.args ?? [])],
    {
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...o.env },
    },
  );
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const stop = (): void => {
    process.off('exit', stop);
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  };
  process.on('exit', stop);
  const served = await until(
    'swarmkeeper run to serve',
    () => {
      if (child.exitCode !== null) return { exited: child.exitCode };
      const line = stderr.split('\n').find((l) => l.includes('Serving health, readiness and metrics'));
      const url = line === undefined ? undefined : (JSON.parse(line) as { url?: string }).url;
      return url === undefined ? undefined : { url };
    },
    { timeoutMs: o.timeoutMs ?? 90_000, intervalMs: 100, context: () => stderr.slice(-2000) },
  ).catch((err: unknown) => {
    stop();
    throw err;
  });
  if (served.url === undefined) throw new Error(`swarmkeeper run exited with ${String(served.exited)}: ${stderr.slice(-2000)}`);
  return { child, baseUrl: served.url, stderr: () => stderr, stop };
}
