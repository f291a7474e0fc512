// A container image registry on a loopback address: Debian's `docker-registry`
// (distribution 2.8) with its storage in a directory of the caller's, no auth, no TLS.
// dockerd treats every 127.0.0.0/8 registry as insecure by default (`docker info` lists
// "Insecure Registries: 127.0.0.0/8"), so the local provider's nodes pull from it over
// plain HTTP with no daemon flag: a node only needs the image reference.
//
// The registry runs as a child of this process and is stopped with it (exit hook), so a
// demo or a test that dies leaves no registry behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { SwarmkeeperError } from '../errors.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { signal, waitGone } from '../process/process-control.ts';

export const REGISTRY_BINARY = 'docker-registry';
export const DEFAULT_REGISTRY_PORT = 5000;

export interface StartRegistryOptions {
  /** Loopback address to listen on (127.x.y.z); refused otherwise. */
  readonly address: string;
  readonly port?: number;
  /** Holds the config, the storage (blobs) and the log. Created if missing. */
  readonly dir: string;
  readonly binary?: string;
  readonly readyTimeoutMs?: number;
}

export interface RegistryProcess {
  readonly address: string;
  readonly port: number;
  /** http://address:port */
  readonly url: string;
  /** address:port, the prefix of image references served here. */
  readonly host: string;
  readonly pid: number;
  /** SIGTERM, SIGKILL after 5 s; resolves once it is gone. Safe to repeat. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) if (child.pid !== undefined) signal(child.pid, 'SIGKILL');
  });
}

export async function startRegistry(opts: StartRegistryOptions): Promise<RegistryProcess> {
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(opts.address)) {
    throw new SwarmkeeperError('Usage', `registry address ${opts.address} is not a loopback IPv4 address (127.x.y.z)`);
  }
  const port = opts.port ?? DEFAULT_REGISTRY_PORT;
  mkdirSync(join(opts.dir, 'storage'), { recursive: true });
  const configFile = join(opts.dir, 'config.yml');
  const logFile = join(opts.dir, 'registry.log');
  writeFileSync(configFile, stringify(registryConfig(opts.address, port, join(opts.dir, 'storage'))));
  installExitHook();
  const logFd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(opts.binary ?? REGISTRY_BINARY, ['serve', configFile], { stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  const spawnError = new Promise<Error>((res) => child.once('error', res));
  if (child.pid === undefined) {
    throw new SwarmkeeperError(
      'Unavailable',
      `starting the image registry: ${(await spawnError).message} (install it with \`apt-get install docker-registry\`)`,
    );
  }
  running.add(child);
  const pid = child.pid;
  const url = `http://${opts.address}:${port}`;
  const stop = async (): Promise<void> => {
    signal(pid, 'SIGTERM');
    if (!(await waitGone(pid, 5_000))) {
      signal(pid, 'SIGKILL');
      await waitGone(pid, 5_000);
    }
    running.delete(child);
  };
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  while (!(await answers(url))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new SwarmkeeperError('Unavailable', `the image registry on ${opts.address}:${port} did not answer: ${logTail(logFile)}`);
    }
    await sleep(100);
  }
  return { address: opts.address, port, url, host: `${opts.address}:${port}`, pid, stop };
}

function registryConfig(address: string, port: number, storage: string): Record<string, unknown> {
  return {
    version: 0.1,
    log: { level: 'warn', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: storage }, delete: { enabled: true } },
    // A fixed secret silences the "no HTTP secret" warning; with one instance it only
    // signs upload state, which never leaves this machine.
    http: { addr: `${address}:${port}`, secret: 'swarmkeeper-local-registry' },
  };
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1_000) });
    return res.ok;
  } catch {
    return false;
  }
}

function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-5).join('\n');
  } catch {
    return `no log at ${file}`;
  }
}
