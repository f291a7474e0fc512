// Real processes: a `sleep` child started here, stopped through its pid file.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, startTimeOf, stopByPidFile } from './process-control.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function sleeper(): { pid: number; pidFile: string } {
  const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
  child.unref();
  const dir = mkdtempSync(join(tmpdir(), 'sk-pc-'));
  dirs.push(dir);
  const pidFile = join(dir, 'sleep.pid');
  writeFileSync(pidFile, String(child.pid));
  return { pid: child.pid!, pidFile };
}

describe('process control', () => {
  it('reads a stable start time while the process lives and none once it is gone', async () => {
    const { pid, pidFile } = sleeper();
    const started = startTimeOf(pid);
    expect(started).toMatch(/^\d+$/);
    expect(startTimeOf(pid)).toBe(started);
    expect(await stopByPidFile(pidFile, { isOurs: (cmd) => cmd.startsWith('sleep 30'), timeoutMs: 5_000 })).toBe(true);
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(pidFile)).toBe(false);
  });

  it('leaves a process alone whose command line is not the one the pid file was written for', async () => {
    const { pid, pidFile } = sleeper();
    try {
      expect(await stopByPidFile(pidFile, { isOurs: (cmd) => cmd.includes('dockerd'), timeoutMs: 5_000 })).toBe(false);
      expect(isAlive(pid)).toBe(true);
    } finally {
      process.kill(pid, 'SIGKILL');
    }
  });
});
