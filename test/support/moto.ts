// A real moto server (the EC2 API, in-memory) for integration tests. It listens on a
// loopback address of its own from the machine-wide pool plus a free port on it, so
// parallel test files never share state; reset() wipes every backend between tests.
//
// Always stopped: stop() kills the whole process group, and a process 'exit' hook
// does the same if a test run dies before its afterAll.
import { spawn, type ChildProcess } from 'node:child_process';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import { freePort } from './net.ts';

export interface MotoServer {
  /** http://<address>:<port>, for spec.provider.ec2.endpoint. */
  readonly endpoint: string;
  readonly pid: number;
  /** Wipes every moto backend (instances, subnets, images) back to its defaults. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** The loopback block moto servers take their addresses from (127.66.x.y). */
const MOTO_BLOCK = 66;

export interface StartMotoOptions {
  /** Extra environment, e.g. { MOTO_ENABLE_AMI_VALIDATION: 'true' }. */
  readonly env?: Record<string, string>;
  readonly startTimeoutMs?: number;
}

export async function startMoto(opts: StartMotoOptions = {}): Promise<MotoServer> {
  const address = reserveLoopback({ block: MOTO_BLOCK });
  let child: ChildProcess | undefined;
  const killGroup = (): void => {
    if (child?.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', killGroup);
  try {
    const port = await freePort(address);
    const endpoint = `http://${address}:${port}`;
    let output = '';
    child = spawn(motoCommand(), ['-H', address, '-p', String(port)], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Test credentials: moto accepts anything, and the SDK never sees real ones.
      env: { ...process.env, ...(opts.env ?? {}), AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' },
    });
    const keep = (b: Buffer): void => {
      output = (output + b.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    await waitUntilUp(endpoint, child, opts.startTimeoutMs ?? 60_000, () => output);
    const proc = child;
    return {
      endpoint,
      pid: proc.pid ?? -1,
      async reset() {
        const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
        if (!res.ok) throw new Error(`resetting moto at ${endpoint}: HTTP ${res.status}`);
      },
      async stop() {
        process.removeListener('exit', killGroup);
        if (proc.exitCode === null && proc.signalCode === null) {
          const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
          killGroup();
          await exited;
        }
        releaseLoopback(address);
      },
    };
  } catch (err) {
    killGroup();
    process.removeListener('exit', killGroup);
    releaseLoopback(address);
    throw err;
  }
}

function motoCommand(): string {
  return process.env.SWARMKEEPER_MOTO_SERVER ?? 'moto_server';
}

async function waitUntilUp(endpoint: string, child: ChildProcess, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode} before listening: ${output()}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/data.json`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`moto_server did not answer at ${endpoint} within ${timeoutMs} ms: ${output()}`);
}
