// Loopback addresses for processes that need fixed ports (etcd's 2379/2380, swarm's
// 2377 and 7946): each gets an address of its own in 127.0.0.0/8. Reservations are
// files created with O_EXCL in one directory shared by every process on the machine,
// so parallel test workers, the local provider and the demo never hand out the same
// address twice. A reservation whose owner process has died is taken over, and an
// address where something still listens (a process its dead owner left behind, such as
// an etcd of a killed test run) is passed over: its next user would talk to that process.
import { mkdirSync, openSync, closeSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';

export const DEFAULT_POOL_DIR = join(tmpdir(), 'swarmkeeper-loopback');

export interface ReserveOptions {
  /** Second octet: 127.<block>.x.y. Different users of the pool pick different blocks. */
  readonly block: number;
  /** Who holds it (a pid; defaults to this process). */
  readonly ownerPid?: number;
  readonly dir?: string;
}

/** Reserves the next free address of the block and returns it. */
export function reserveLoopback(opts: ReserveOptions): string {
  const dir = opts.dir ?? DEFAULT_POOL_DIR;
  mkdirSync(dir, { recursive: true });
  const owner = opts.ownerPid ?? process.pid;
  const listening = listeningAddresses();
  for (let third = 0; third < 256; third++) {
    for (let fourth = 2; fourth < 255; fourth++) {
      const address = `127.${opts.block}.${third}.${fourth}`;
      if (listening.has(address)) continue;
      if (tryClaim(join(dir, address), owner)) return address;
    }
  }
  throw new Error(`no free loopback address left in 127.${opts.block}.0.0/16 (reservations in ${dir})`);
}

/** Reserves a specific address; false when someone alive holds it. */
export function reserveSpecificLoopback(address: string, ownerPid: number = process.pid, dir: string = DEFAULT_POOL_DIR): boolean {
  mkdirSync(dir, { recursive: true });
  return tryClaim(join(dir, address), ownerPid);
}

/**
 * Hands a reservation to another owner, atomically (write and rename, so a concurrent
 * reserver never reads a half-written owner). Owner pid 1 never dies: the reservation is
 * then held until releaseLoopback(), whoever crashes meanwhile.
 */
export function transferLoopback(address: string, ownerPid: number, dir: string = DEFAULT_POOL_DIR): void {
  const file = join(dir, address);
  writeFileAtomic.sync(file, String(ownerPid), { fsync: true });
}

export function releaseLoopback(address: string, dir: string = DEFAULT_POOL_DIR): void {
  rmSync(join(dir, address), { force: true });
}

function tryClaim(file: string, owner: number): boolean {
  try {
    const fd = openSync(file, 'wx');
    writeSync(fd, String(owner));
    closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if (isAlive(readOwner(file))) return false;
  // The owner died without releasing: take the reservation over. Removing and
  // re-creating with O_EXCL keeps two takers from both winning.
  rmSync(file, { force: true });
  try {
    const fd = openSync(file, 'wx');
    writeSync(fd, String(owner));
    closeSync(fd);
    return true;
  } catch {
    return false;
  }
}

/**
 * The IPv4 addresses with a listening TCP socket bound to them (not the wildcard), from
 * /proc/net/tcp. Empty where that file does not exist: the pool then relies on owners alone.
 */
export function listeningAddresses(procNetTcp = '/proc/net/tcp'): Set<string> {
  let text: string;
  try {
    text = readFileSync(procNetTcp, 'utf8');
  } catch {
    return new Set();
  }
  const found = new Set<string>();
  for (const line of text.split('\n').slice(1)) {
    // "  sl  local_address rem_address   st ...": the address is little-endian hex, state 0A is LISTEN.
    const [, local, , state] = line.trim().split(/\s+/);
    if (state !== '0A' || !local) continue;
    const hex = local.split(':')[0] ?? '';
    if (hex.length !== 8) continue;
    const address = [6, 4, 2, 0].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)).join('.');
    if (address !== '0.0.0.0') found.add(address);
  }
  return found;
}

function readOwner(file: string): number {
  try {
    return Number.parseInt(readFileSync(file, 'utf8'), 10);
  } catch {
    return Number.NaN;
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
