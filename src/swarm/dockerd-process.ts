// Starting and stopping a real dockerd per node, several on one host (the local provider,
// the demo and the integration tests). Facts measured with dockerd 20.10:
// every dockerd needs its own --data-root, --exec-root and unix socket, `--bridge none
// --iptables=false --ip6tables=false` so they do not fight over the host's network, and
// an engine label `swarmkeeper.instance=<id>` because they all report the same hostname.
// In swarm mode dockerd mounts network namespaces under exec-root and overlay layers
// under data-root: removeNodeDirs() unmounts them (deepest first) before deleting.
//
// Layout of a node directory (everything a node owns lives under it):
//   <dir>/d.sock  API socket      <dir>/d.pid  pid file (written by dockerd)
//   <dir>/d.log   stdout+stderr   <dir>/data   --data-root   <dir>/x   --exec-root
// Unix socket paths are limited to 108 bytes and dockerd puts sockets up to 37 bytes deep
// under exec-root (x/containerd/containerd.sock.ttrpc, x/libnetwork/<12 hex>.sock), so `dir` must be short
// (/tmp/sk-xxxx style); startDockerd refuses a longer one with a clear error.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { SwarmkeeperError } from '../errors.ts';
import { cmdlineOf, isAlive, readPidFile, signal, stopByPidFile, terminate, waitGone } from '../process/process-control.ts';
import { pingSocket, stopContainerdOf, waitUntilAnswering } from './dockerd-readiness.ts';

// Re-exported: the local provider and the tests import these from here.
export { isAlive } from '../process/process-control.ts';
export { mountsUnder, removeNodeDirs, removeNodeDirsAsync } from './node-dirs.ts';

/** Longest `dir` accepted: 108-byte socket limit minus the deepest socket dockerd makes under it. */
export const MAX_NODE_DIR_LENGTH = 64;

export interface StartDockerdOptions {
  /** Loopback address the node's swarm will listen on and advertise (127.x.y.z). */
  readonly address: string;
  /** The node's own directory; created if missing. Keep it short (MAX_NODE_DIR_LENGTH). */
  readonly dir: string;
  /** Becomes the engine label swarmkeeper.instance, which maps swarm nodes to instances. */
  readonly instanceId: string;
  /** Outlive the caller (own session, no exit hook): the local provider's instances must survive a controller restart. */
  readonly detached?: boolean;
  /** Extra engine labels. */
  readonly labels?: Readonly<Record<string, string>>;
  /** How long to wait for /_ping to answer; default 90 s (a loaded 2-core machine). */
  readonly readyTimeoutMs?: number;
  readonly binary?: string;
  /**
   * Also serve the API on tcp://<address>:<port> with TLS and client-certificate
   * verification (--tlsverify). Never plain TCP: without this the API is the unix socket only.
   */
  readonly tcpTls?: DockerdTcpTls;
}

export interface DockerdTcpTls {
  /** Default 2376 (docker's TLS port). */
  readonly port?: number;
  /** PEM files: the CA that signed the client certificates, the server's certificate (SAN: the address) and key. */
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export interface DockerdPaths {
  readonly dir: string;
  readonly socketPath: string;
  readonly pidFile: string;
  readonly logFile: string;
  readonly dataRoot: string;
  readonly execRoot: string;
}

export interface DockerdProcess extends DockerdPaths {
  readonly pid: number;
  readonly address: string;
  readonly instanceId: string;
  /** SIGTERM, wait up to `timeoutMs` (default 30 s), then SIGKILL; resolves once it is gone. */
  stop(timeoutMs?: number): Promise<void>;
  /** SIGKILL (dockerd's containerd dies with it); resolves once it is gone. */
  kill(): Promise<void>;
}

export function dockerdPaths(dir: string): DockerdPaths {
  const d = resolve(dir);
  return {
    dir: d,
    socketPath: `${d}/d.sock`,
    pidFile: `${d}/d.pid`,
    logFile: `${d}/d.log`,
    dataRoot: `${d}/data`,
    execRoot: `${d}/x`,
  };
}

/** Attached (not detached) dockerds: SIGTERMed when this process exits normally, so none is left behind. */
const attachedPids = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pid of attachedPids) signal(pid, 'SIGTERM');
  });
}

export async function startDockerd(opts: StartDockerdOptions): Promise<DockerdProcess> {
  const spawned = await spawnNodeDockerd(opts);
  await spawned.answering;
  return spawned.process;
}

/** A dockerd spawned, not yet known to answer. */
export interface SpawnedDockerd {
  readonly process: DockerdProcess;
  /**
   * Settles when the dockerd answers /_ping, or rejects as startDockerd fails (it exited
   * first; it did not answer by readyTimeoutMs and was stopped; `signal` was aborted).
   */
  readonly answering: Promise<void>;
}

/**
 * Spawns a node's dockerd and returns at once, as a cloud API returns a pending
 * instance; `answering` says when it is up. The local provider's launches use it, so a
 * reconcile cycle is not held while nodes boot.
 */
export async function spawnNodeDockerd(opts: StartDockerdOptions & { readonly signal?: AbortSignal }): Promise<SpawnedDockerd> {
  const paths = dockerdPaths(opts.dir);
  checkCanStart(opts, paths);
  installExitHook();
  mkdirSync(paths.dir, { recursive: true });
  rmSync(paths.socketPath, { force: true });
  rmSync(paths.pidFile, { force: true });
  const child = spawnDockerd(opts, paths);
  const spawnError = new Promise<Error>((res) => child.once('error', res));
  if (child.pid === undefined) {
    throw new SwarmkeeperError('Unavailable', `starting dockerd: ${(await spawnError).message} (is docker.io installed?)`);
  }
  const pid = child.pid;
  if (opts.detached) child.unref();
  else attachedPids.add(pid);
  const dropHook = (): void => {
    attachedPids.delete(pid);
  };
  const answering = waitUntilAnswering({
    ...paths,
    instanceId: opts.instanceId,
    pid,
    running: () => isAlive(pid) && child.exitCode === null,
    timeoutMs: opts.readyTimeoutMs ?? 90_000,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  answering.catch(dropHook);
  const dockerd: DockerdProcess = {
    ...paths,
    pid,
    address: opts.address,
    instanceId: opts.instanceId,
    stop: async (timeoutMs = 30_000) => {
      dropHook();
      await terminate(pid, { timeoutMs });
      await stopContainerdOf(paths.execRoot);
    },
    kill: async () => {
      dropHook();
      signal(pid, 'SIGKILL');
      await waitGone(pid, 30_000);
      await stopContainerdOf(paths.execRoot);
    },
  };
  return { process: dockerd, answering };
}

/** Refuses, before anything is touched, what could not work or would disturb another node's dockerd. */
function checkCanStart(opts: StartDockerdOptions, paths: DockerdPaths): void {
  if (Buffer.byteLength(paths.dir) > MAX_NODE_DIR_LENGTH) {
    throw new SwarmkeeperError(
      'Usage',
      `dockerd node directory ${paths.dir} is longer than ${MAX_NODE_DIR_LENGTH} bytes: unix socket paths under it would pass the 108-byte limit; use a short directory such as /tmp/sk-<id>`,
    );
  }
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(opts.address)) {
    throw new SwarmkeeperError('Usage', `dockerd address ${opts.address} is not a loopback IPv4 address (127.x.y.z)`);
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new SwarmkeeperError('Unavailable', 'starting dockerd needs root: run as root, or use the sim provider');
  }
  const running = readLivePid(paths);
  if (running !== undefined) {
    throw new SwarmkeeperError('Conflict', `a dockerd (pid ${running}) already runs for ${paths.dir}; stop it first`, {
      details: { pid: running, dir: paths.dir },
    });
  }
}

/** The flags of one node's dockerd: its own roots and socket, no host networking changes, its engine labels. */
function dockerdArgs(opts: StartDockerdOptions, paths: DockerdPaths): string[] {
  const labels = { ...opts.labels, 'swarmkeeper.instance': opts.instanceId };
  const args = [
    '--data-root',
    paths.dataRoot,
    '--exec-root',
    paths.execRoot,
    '-H',
    `unix://${paths.socketPath}`,
    '--pidfile',
    paths.pidFile,
    '--bridge',
    'none',
    '--iptables=false',
    '--ip6tables=false',
    '--swarm-default-advertise-addr',
    opts.address,
    ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
  ];
  if (opts.tcpTls) {
    const t = opts.tcpTls;
    args.push(
      '-H',
      `tcp://${opts.address}:${t.port ?? 2376}`,
      '--tlsverify',
      '--tlscacert',
      t.caFile,
      '--tlscert',
      t.certFile,
      '--tlskey',
      t.keyFile,
    );
  }
  return args;
}

/** Spawns dockerd with its output appended to the node's log file. */
function spawnDockerd(opts: StartDockerdOptions, paths: DockerdPaths): ChildProcess {
  const logFd = openSync(paths.logFile, 'a');
  try {
    return spawn(opts.binary ?? 'dockerd', dockerdArgs(opts, paths), { detached: opts.detached === true, stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
}

/** Whether the dockerd of `dir` answers its API. */
export function pingDockerd(dir: string): Promise<boolean> {
  return pingSocket(dockerdPaths(dir).socketPath);
}

/**
 * The pid of the dockerd that runs for `dir` (from its pid file), or undefined. The pid
 * is only believed when that process is a dockerd using this directory (pids get reused).
 */
export function dockerdPid(dir: string): number | undefined {
  return readLivePid(dockerdPaths(dir));
}

/**
 * Whether `pid`, taken when the dockerd of `dir` was spawned (before dockerd writes its
 * pid file), still is that dockerd.
 */
export function isDockerdPidOf(pid: number, dir: string): boolean {
  return isAlive(pid) && isDockerdOf(cmdlineOf(pid), dockerdPaths(dir));
}

/**
 * Stops the dockerd of `dir` by its pid file (SIGTERM, then SIGKILL), and the one
 * spawned as `spawnedPid` if it has not written its pid file yet; resolves when none runs.
 */
export async function stopDockerd(dir: string, timeoutMs = 30_000, spawnedPid?: number): Promise<void> {
  const paths = dockerdPaths(dir);
  await stopByPidFile(paths.pidFile, { isOurs: (cmdline) => isDockerdOf(cmdline, paths), timeoutMs });
  if (spawnedPid !== undefined && isDockerdPidOf(spawnedPid, dir)) await terminate(spawnedPid, { timeoutMs });
  await stopContainerdOf(paths.execRoot);
}

function readLivePid(paths: DockerdPaths): number | undefined {
  const pid = readPidFile(paths.pidFile);
  if (pid === undefined || !isAlive(pid)) return undefined;
  return isDockerdOf(cmdlineOf(pid), paths) ? pid : undefined;
}

function isDockerdOf(cmdline: string, paths: DockerdPaths): boolean {
  return cmdline.includes('dockerd') && cmdline.includes(paths.socketPath);
}
