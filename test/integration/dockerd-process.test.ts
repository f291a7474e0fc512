// startDockerd / stopDockerd / removeNodeDirs against real dockerd processes: a
// detached dockerd outlives the process that started it and is stopped later by its pid
// file; kill() leaves no containerd behind; a swarm-mode node's mounts are unmounted and
// its directory removed.
import { until } from '../support/until.ts';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import { DockerSwarm } from '../../src/swarm/docker-swarm.ts';
import {
  dockerdPaths,
  dockerdPid,
  isAlive,
  mountsUnder,
  pingDockerd,
  removeNodeDirs,
  startDockerd,
  stopDockerd,
} from '../../src/swarm/dockerd-process.ts';
import { DOCKERD_TEST_BLOCK } from '../support/dockerd.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
}, 60_000);

/** A reserved address and a short node dir, released/removed after the test whatever happens. */
function aNode(): { address: string; dir: string } {
  const address = reserveLoopback({ block: DOCKERD_TEST_BLOCK });
  const dir = mkdtempSync('/tmp/sk-');
  cleanups.push(async () => {
    await stopDockerd(dir, 10_000);
    removeNodeDirs(dir);
    releaseLoopback(address);
  });
  return { address, dir };
}

function containerdPid(dir: string): number | undefined {
  const file = join(dockerdPaths(dir).execRoot, 'containerd', 'containerd.pid');
  if (!existsSync(file)) return undefined;
  return Number.parseInt(readFileSync(file, 'utf8'), 10);
}

describe('dockerd processes', () => {
  it('a detached dockerd outlives the process that started it and stops by its pid file', async () => {
    const { address, dir } = aNode();
    const script = join(dir, 'start.mts');
    const module = resolve('src/swarm/dockerd-process.ts');
    writeFileSync(
      script,
      `import { startDockerd } from ${JSON.stringify(module)};\n` +
        `const d = await startDockerd({ address: ${JSON.stringify(address)}, dir: ${JSON.stringify(dir)}, instanceId: 'i-detached', detached: true });\n` +
        'console.log(d.pid);\n',
    );
    const out = execFileSync(resolve('node_modules/.bin/tsx'), [script], { encoding: 'utf8', timeout: 120_000 });
    const pid = Number.parseInt(out.trim().split('\n').pop()!, 10);
    // The starter has exited; the daemon is still there and answers.
    expect(isAlive(pid)).toBe(true);
    expect(dockerdPid(dir)).toBe(pid);
    expect(await pingDockerd(dir)).toBe(true);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain('swarmkeeper.instance=i-detached');
    // dockerd writes containerd's pid file a moment after it answers pings.
    const containerd = await until('containerd pid file', () => containerdPid(dir), 10_000);

    await stopDockerd(dir);
    expect(isAlive(pid)).toBe(false);
    expect(dockerdPid(dir)).toBeUndefined();
    expect(containerd).toBeDefined();
    expect(isAlive(containerd!)).toBe(false);
  });

  it('kill() takes dockerd and its containerd down; a second start on the same dir is refused while one runs', async () => {
    const { address, dir } = aNode();
    const d = await startDockerd({ address, dir, instanceId: 'i-kill' });
    await expect(startDockerd({ address, dir, instanceId: 'i-kill' })).rejects.toThrow(/already runs/);
    // dockerd writes containerd's pid file a moment after it answers pings.
    const containerd = await until('containerd pid file', () => containerdPid(dir), 10_000);
    expect(containerd).toBeDefined();
    await d.kill();
    expect(isAlive(d.pid)).toBe(false);
    expect(isAlive(containerd!)).toBe(false);
    expect(await pingDockerd(dir)).toBe(false);
  });

  it('removeNodeDirs unmounts what a swarm-mode dockerd mounted and deletes the directory', async () => {
    const { address, dir } = aNode();
    const d = await startDockerd({ address, dir, instanceId: 'i-mounts' });
    const api = new DockerSwarm({ socketPath: d.socketPath });
    await api.init(`${address}:2377`, address);
    await api.close();
    expect(mountsUnder(resolve(dir)).length).toBeGreaterThan(0);
    // A crash leaves the mounts behind (no orderly shutdown to undo them).
    await d.kill();
    removeNodeDirs(dir);
    expect(existsSync(dir)).toBe(false);
    expect(mountsUnder(resolve(dir))).toEqual([]);
  });
});
