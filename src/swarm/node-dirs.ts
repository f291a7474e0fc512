// Removing a node's directories after its dockerd stopped. In swarm mode dockerd mounts
// network namespaces under exec-root and overlay layers under data-root; a crash leaves
// them mounted, and deleting the directory then fails with "Device or resource busy"
// (measured with dockerd 20.10). So: unmount first, deepest first, lazily.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { SwarmkeeperError } from '../errors.ts';

/**
 * Unmounts everything mounted under `dir` (per /proc/mounts, deepest first, `umount -l`)
 * and deletes it. Stop the dockerd first. Idempotent: a missing dir is fine.
 */
export function removeNodeDirs(dir: string): void {
  const root = resolve(dir);
  for (const mountPoint of mountsUnder(root)) {
    try {
      execFileSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
    } catch {
      // Already gone (a lazy unmount of a parent can take children with it); rmSync below tells if not.
    }
  }
  try {
    rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  } catch (err) {
    throw new SwarmkeeperError('Internal', `removing node directory ${root}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * removeNodeDirs without holding the event loop, for every caller that is not exiting: a
 * node's data-root holds its images and layers, and deleting them synchronously stalled a
 * process (a controller's cycle, a test's stand-ins) for seconds to tens of seconds under load.
 */
export async function removeNodeDirsAsync(dir: string): Promise<void> {
  const root = resolve(dir);
  for (const mountPoint of mountsUnder(root)) {
    // Already gone (a lazy unmount of a parent can take children with it): rm says if not.
    await promisify(execFile)('umount', ['-l', mountPoint]).catch(() => undefined);
  }
  try {
    await rm(root, { recursive: true, force: true, maxRetries: 3 });
  } catch (err) {
    throw new SwarmkeeperError('Internal', `removing node directory ${root}: ${(err as Error).message}`, { cause: err });
  }
}

/** Mount points at or under `root`, deepest first. /proc/mounts escapes spaces and such as \ooo. */
export function mountsUnder(root: string, mountsText?: string): string[] {
  const text = mountsText ?? readFileSync('/proc/mounts', 'utf8');
  const points = text
    .split('\n')
    .map((line) => line.split(' ')[1])
    .filter((p): p is string => p !== undefined && p !== '')
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))))
    .filter((p) => p === root || p.startsWith(`${root}/`));
  return [...new Set(points)].sort((a, b) => b.split('/').length - a.split('/').length || b.length - a.length);
}
