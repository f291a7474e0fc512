// Small helpers for processes swarmkeeper starts and later finds again by pid file
// (dockerd, etcd, gateways, the local provider's node agents): liveness that does not believe zombies or
// reused pids, signals that tolerate a process already gone, bounded waits.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** The pid in `file`, or undefined when there is none or it is not a positive integer. */
export function readPidFile(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** The command line of `pid` with arguments joined by spaces; '' when it is gone. */
export function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** Alive and not a zombie (an unreaped child still answers kill 0). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Alive, but its command line already gone: a process between exit and zombie (its
 * memory is released first). Kernel threads read the same; a pid file never names one.
 */
export function isExiting(pid: number): boolean {
  return isAlive(pid) && cmdlineOf(pid) === '';
}

/** Sends `sig`, ignoring a process that is already gone. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/** Resolves true once `pid` is gone, false when `timeoutMs` passed first. */
export function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  return waitUntil(() => !isAlive(pid), timeoutMs, 100);
}

/** Resolves true once `cond()` holds, false when `timeoutMs` passed first (checked once more at the end). */
export async function waitUntil(cond: () => boolean, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await sleep(intervalMs);
  }
  return cond();
}

/** Sends `sig` to the process group `pid` leads, or to `pid` alone when it leads none. */
export function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    signal(pid, sig);
  }
}

export interface TerminateOptions {
  /** How long SIGTERM has before SIGKILL. */
  readonly timeoutMs: number;
  /** Whether the process still runs; default: isAlive(pid). */
  readonly alive?: () => boolean;
  /** Signal the whole process group the pid leads. */
  readonly group?: boolean;
}

/** SIGTERM, then SIGKILL after `timeoutMs`; resolves once the process is gone (or 10 s after SIGKILL). */
export async function terminate(pid: number, opts: TerminateOptions): Promise<void> {
  const alive = opts.alive ?? (() => isAlive(pid));
  if (!alive()) return;
  const send = opts.group ? signalGroup : signal;
  send(pid, 'SIGTERM');
  if (await waitUntil(() => !alive(), opts.timeoutMs)) return;
  send(pid, 'SIGKILL');
  await waitUntil(() => !alive(), 10_000);
}

/**
 * Stops the process whose pid is in `pidFile` (one started detached, maybe by another
 * program or an earlier run) and removes the file. The pid is signalled only while /proc
 * shows the process the file was written for (`isOurs` on its command line), so a
 * recycled pid is never hit. Returns whether there was a process to stop.
 */
export async function stopByPidFile(
  pidFile: string,
  opts: { readonly isOurs: (cmdline: string) => boolean } & Omit<TerminateOptions, 'alive'>,
): Promise<boolean> {
  const pid = readPidFile(pidFile);
  if (pid !== undefined && isExiting(pid)) {
    // Already on its way out (no signal needed, and none could tell it from a stranger).
    await waitGone(pid, 10_000);
  }
  const found = pid !== undefined && isAlive(pid) && opts.isOurs(cmdlineOf(pid));
  if (found) {
    // Once known, the process is followed by its start time, not its command line: an
    // exiting process reads an empty cmdline before it is gone, and the start time
    // still tells a recycled pid apart.
    const started = startTimeOf(pid);
    await terminate(pid, { ...opts, alive: () => isAlive(pid) && startTimeOf(pid) === started });
  }
  rmSync(pidFile, { force: true });
  return found;
}

/** When `pid` started (clock ticks since boot, /proc/PID/stat field 22); undefined when it is gone. */
export function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
