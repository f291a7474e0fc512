// A worker's local etcd endpoint: `etcd gateway start`, a TCP proxy to the managers'
// client URLs (the seeds' "etcd in proxy mode"), listening on the node's own
// address:2379 so software on the node talks to etcd at one fixed place. It is
// stateless, so the agent simply restarts it when the managers change.
//
// It runs in the agent's process group (the agent supervises it, as systemd would a
// unit of the node) and writes a pid file the local provider reads to stop it.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { SwarmkeeperError } from '../errors.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopByPidFile, waitUntil } from '../process/process-control.ts';

export interface GatewayOptions {
  /** host:port of each manager's etcd client URL (no scheme: the gateway takes none). */
  readonly endpoints: readonly string[];
  /** Address the gateway listens on (this node's address); port 2379. */
  readonly listenAddress: string;
  readonly pidFile: string;
  readonly logFile: string;
  readonly startTimeoutMs?: number;
  readonly binary?: string;
}

export interface GatewayProcess {
  readonly pid: number;
  readonly endpoints: readonly string[];
  isRunning(): boolean;
  /** SIGTERM, then SIGKILL; resolves once the process is gone. */
  stop(timeoutMs?: number): Promise<void>;
}

export function gatewayArgs(opts: Pick<GatewayOptions, 'endpoints' | 'listenAddress'>): string[] {
  return [
    'gateway',
    'start',
    `--endpoints=${opts.endpoints.join(',')}`,
    `--listen-addr=${opts.listenAddress}:2379`,
    // The default retry delay is a minute: a manager that comes back would stay unused that long.
    '--retry-delay=2s',
  ];
}

export async function startGateway(opts: GatewayOptions): Promise<GatewayProcess> {
  mkdirSync(dirname(opts.logFile), { recursive: true });
  const logFd = openSync(opts.logFile, 'a');
  const child = (() => {
    try {
      return spawn(opts.binary ?? 'etcd', gatewayArgs(opts), { stdio: ['ignore', logFd, logFd] });
    } finally {
      closeSync(logFd);
    }
  })();
  if (child.pid === undefined) {
    const err = await new Promise<Error>((res) => child.once('error', res));
    throw new SwarmkeeperError('Unavailable', `starting the etcd gateway: ${err.message} (install etcd-server)`, { cause: err });
  }
  const pid = child.pid;
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  writeFileSync(opts.pidFile, `${pid}\n`);
  const proc: GatewayProcess = {
    pid,
    endpoints: [...opts.endpoints],
    isRunning: () => !exited,
    stop: async (timeoutMs = 5_000) => {
      if (!exited) {
        child.kill('SIGTERM');
        if (!(await waitUntil(() => exited, timeoutMs))) {
          child.kill('SIGKILL');
          await waitUntil(() => exited, 5_000);
        }
      }
      rmSync(opts.pidFile, { force: true });
    },
  };
  const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
  while (!(await canConnect(opts.listenAddress, 2379))) {
    if (exited || Date.now() > deadline) {
      await proc.stop();
      throw new SwarmkeeperError('Unavailable', `the etcd gateway on ${opts.listenAddress}:2379 did not start; see ${opts.logFile}`);
    }
    await sleep(100);
  }
  return proc;
}

/** Stops a gateway left behind by an earlier agent (pid file); a reused pid is never hit. */
export function stopGatewayByPidFile(pidFile: string): Promise<boolean> {
  return stopByPidFile(pidFile, { isOurs: (cmdline) => /^(\S*\/)?etcd gateway( |$)/.test(cmdline), timeoutMs: 5_000 });
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
