// Starts and stops a real `etcd` (3.4) server process. Used by test/support/etcd.ts,
// by the local provider's node agent and by the demo. Two lifetimes:
// - attached (default): the process is our child; stop() ends it and waits for the exit.
// - detached: the process gets a session of its own (setsid), its output goes to the
//   log file, it is unref'ed so it outlives the caller, and its pid is written to a pid
//   file so a later process can stop it with stopEtcdByPidFile().
//
// Readiness is "/health answers ok" on a loopback client URL. A member that cannot be
// healthy alone (one of a new 3-member cluster, a learner) is started with
// `waitFor: 'listening'` or `'none'`, and the caller waits with waitForEtcdHealth().
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { SwarmkeeperError } from '../errors.ts';
import { cmdlineOf, isAlive, readPidFile, signal, stopByPidFile, terminate, waitUntil } from '../process/process-control.ts';
import { isLoopbackHost, waitForEtcdHealth, type HealthProbeTls } from './etcd-health.ts';

// Re-exported: callers import the probes from here too.
export { checkEtcdHealth, isLoopbackHost, waitForEtcdHealth, type HealthProbeTls, type WaitHealthOptions } from './etcd-health.ts';

export interface EtcdTlsFiles {
  /** Server certificate and key (used for client and peer traffic). */
  readonly certFile: string;
  readonly keyFile: string;
  /** CA that signed client certificates and peers. */
  readonly trustedCaFile: string;
  /** Require clients to present a certificate signed by trustedCaFile. */
  readonly clientCertAuth?: boolean;
}

export interface EtcdProcessOptions {
  readonly name: string;
  readonly dataDir: string;
  /** URLs etcd listens on for clients; the first loopback one is used for health checks. */
  readonly clientUrls: readonly string[];
  /** What the member advertises to clients; defaults to clientUrls. */
  readonly advertiseClientUrls?: readonly string[];
  readonly peerUrl: string;
  /** `name=peerURL,...`; defaults to this member alone. */
  readonly initialCluster?: string;
  readonly initialClusterState?: 'new' | 'existing';
  readonly initialClusterToken?: string;
  /** TLS for client URLs (https://) and, when peerTls is true, for the peer URL. */
  readonly tls?: EtcdTlsFiles;
  readonly peerTls?: boolean;
  /** Where etcd's output goes; default `<dataDir>.log`. */
  readonly logFile?: string;
  /** Own session (setsid), unref'ed, survives the caller. Requires a pid file. */
  readonly detached?: boolean;
  /** Written with the pid once spawned; default `<dataDir>.pid` when detached. */
  readonly pidFile?: string;
  /** 'health' (default): /health ok; 'listening': /version answers; 'none': return at once. */
  readonly waitFor?: 'health' | 'listening' | 'none';
  readonly startTimeoutMs?: number;
  readonly binary?: string;
  readonly extraArgs?: readonly string[];
}

export interface EtcdProcess {
  readonly pid: number;
  readonly name: string;
  readonly clientUrl: string;
  readonly clientUrls: readonly string[];
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly pidFile?: string;
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves once the process is gone. */
  stop(timeoutMs?: number): Promise<void>;
  /** SIGKILL (a crash); resolves once the process is gone. */
  kill(): Promise<void>;
  isRunning(): boolean;
}

/** Builds etcd's command line. Exported for tests and for cloud-config rendering checks. */
export function etcdArgs(opts: EtcdProcessOptions): string[] {
  const args = [
    '--name',
    opts.name,
    '--data-dir',
    opts.dataDir,
    '--listen-client-urls',
    opts.clientUrls.join(','),
    '--advertise-client-urls',
    (opts.advertiseClientUrls ?? opts.clientUrls).join(','),
    '--listen-peer-urls',
    opts.peerUrl,
    '--initial-advertise-peer-urls',
    opts.peerUrl,
    '--initial-cluster',
    opts.initialCluster ?? `${opts.name}=${opts.peerUrl}`,
    '--initial-cluster-state',
    opts.initialClusterState ?? 'new',
    '--initial-cluster-token',
    opts.initialClusterToken ?? 'swarmkeeper',
    // Small, fast-failing defaults suited to loopback: quick elections, no metrics port.
    // History is compacted (every write is a revision kept until then): keys that churn
    // (status, marks, leases) would otherwise grow the database without end.
    '--auto-compaction-mode',
    'periodic',
    '--auto-compaction-retention',
    '5m',
    '--heartbeat-interval',
    '100',
    '--election-timeout',
    '1000',
    '--logger',
    'zap',
    '--log-outputs',
    'stderr',
  ];
  if (opts.tls) {
    args.push('--cert-file', opts.tls.certFile, '--key-file', opts.tls.keyFile, '--trusted-ca-file', opts.tls.trustedCaFile);
    if (opts.tls.clientCertAuth) args.push('--client-cert-auth');
    if (opts.peerTls) {
      args.push(
        '--peer-cert-file',
        opts.tls.certFile,
        '--peer-key-file',
        opts.tls.keyFile,
        '--peer-trusted-ca-file',
        opts.tls.trustedCaFile,
      );
      if (opts.tls.clientCertAuth) args.push('--peer-client-cert-auth');
    }
  }
  args.push(...(opts.extraArgs ?? []));
  return args;
}

export async function startEtcdProcess(opts: EtcdProcessOptions): Promise<EtcdProcess> {
  if (opts.clientUrls.length === 0) throw new SwarmkeeperError('Usage', `etcd ${opts.name}: at least one client URL is required`);
  const logFile = opts.logFile ?? `${opts.dataDir}.log`;
  const pidFile = opts.pidFile ?? (opts.detached ? `${opts.dataDir}.pid` : undefined);
  const child = await spawnEtcd(opts, logFile);
  const pid = child.pid as number;
  const exit: ExitState = { exited: false, code: null };
  child.once('exit', (code) => {
    exit.exited = true;
    exit.code = code;
  });
  if (opts.detached) child.unref();
  if (pidFile) {
    mkdirSync(dirname(pidFile), { recursive: true });
    writeFileSync(pidFile, `${pid}\n`);
  }

  const isRunning = (): boolean => !exit.exited && isAlive(pid);
  const proc: EtcdProcess = {
    pid,
    name: opts.name,
    clientUrl: opts.clientUrls[0] as string,
    clientUrls: [...opts.clientUrls],
    peerUrl: opts.peerUrl,
    dataDir: opts.dataDir,
    logFile,
    ...(pidFile ? { pidFile } : {}),
    isRunning,
    stop: async (timeoutMs = 10_000) => {
      await terminate(pid, { timeoutMs, alive: isRunning });
      if (pidFile) rmSync(pidFile, { force: true });
    },
    kill: async () => {
      signal(pid, 'SIGKILL');
      await waitUntil(() => !isRunning(), 10_000);
      if (pidFile) rmSync(pidFile, { force: true });
    },
  };
  if ((opts.waitFor ?? 'health') !== 'none') await waitUntilReady(proc, opts, exit);
  return proc;
}

/** How an etcd process ended, once Node reports it. */
interface ExitState {
  exited: boolean;
  code: number | null;
}

/** Spawns etcd with its output appended to `logFile`; a binary that cannot be run fails here. */
async function spawnEtcd(opts: EtcdProcessOptions, logFile: string): Promise<ChildProcess> {
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  mkdirSync(dirname(logFile), { recursive: true });
  const logFd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(opts.binary ?? 'etcd', etcdArgs(opts), {
      detached: opts.detached ?? false,
      stdio: ['ignore', logFd, logFd],
    });
  } finally {
    closeSync(logFd);
  }
  if (child.pid === undefined) {
    const spawnError = await new Promise<unknown>((resolve) => child.once('error', resolve));
    throw new SwarmkeeperError('Unavailable', `starting etcd ${opts.name}: ${String((spawnError as Error)?.message ?? spawnError)}`, {
      cause: spawnError,
    });
  }
  return child;
}

/**
 * Waits until the member answers as `opts.waitFor` asks, on a loopback client URL. One
 * that exits or is not ready in time is stopped, and the error carries its log's tail.
 */
async function waitUntilReady(proc: EtcdProcess, opts: EtcdProcessOptions, exit: ExitState): Promise<void> {
  const probeUrl = loopbackUrlOf(opts.clientUrls);
  const tls: HealthProbeTls | undefined = opts.tls
    ? { caFile: opts.tls.trustedCaFile, certFile: opts.tls.certFile, keyFile: opts.tls.keyFile }
    : undefined;
  try {
    await waitForEtcdHealth(probeUrl, {
      timeoutMs: opts.startTimeoutMs ?? 60_000,
      tls,
      path: opts.waitFor === 'listening' ? '/version' : '/health',
      abortIf: () => (proc.isRunning() ? undefined : `etcd ${opts.name} exited before it was ready`),
    });
  } catch (err) {
    // /proc can show the process gone a moment before Node reports its exit status:
    // wait briefly for it, so the message says how etcd ended.
    if (!exit.exited && !isAlive(proc.pid)) await waitUntil(() => exit.exited, 1_000).catch(() => undefined);
    await proc.stop(5_000).catch(() => undefined);
    const tail = tailOf(proc.logFile, 15);
    const why = exit.exited ? `etcd ${opts.name} exited (code ${String(exit.code)}) before it was ready` : (err as Error).message;
    throw new SwarmkeeperError('Unavailable', `${why}; last lines of ${proc.logFile}:\n${tail}`, { cause: err });
  }
}

/**
 * Stops the etcd whose pid is in `pidFile` (a detached one, maybe started by another
 * process). Returns false when there was nothing to stop.
 */
export function stopEtcdByPidFile(pidFile: string, timeoutMs = 10_000): Promise<boolean> {
  return stopByPidFile(pidFile, { isOurs: isEtcdCommand, timeoutMs });
}

/** The pid in `pidFile` when that process is alive and is an etcd. */
export function runningEtcdPid(pidFile: string): number | undefined {
  const pid = readPidFile(pidFile);
  return pid !== undefined && isAlive(pid) && isEtcdCommand(cmdlineOf(pid)) ? pid : undefined;
}

function isEtcdCommand(cmdline: string): boolean {
  return /^(\S*\/)?etcd( |$)/.test(cmdline);
}

function loopbackUrlOf(urls: readonly string[]): string {
  const found = urls.find((u) => isLoopbackHost(new URL(u).hostname));
  if (!found) {
    throw new SwarmkeeperError('Usage', `etcd health checks go to loopback only: add a 127.x.y.z client URL to ${urls.join(',')}`);
  }
  return found;
}

function tailOf(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
