import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { releaseLoopback, reserveLoopback } from './loopback-pool.ts';

const dirs: string[] = [];
function tempPool(): string {
  const d = mkdtempSync(join(tmpdir(), 'pool-'));
  dirs.push(d);
  return d;
}
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('reserveLoopback', () => {
  it('never hands out one address twice while its owner lives', () => {
    const dir = tempPool();
    const a = reserveLoopback({ block: 77, dir });
    const b = reserveLoopback({ block: 77, dir });
    expect(a).toBe('127.77.0.2');
    expect(b).toBe('127.77.0.3');
    releaseLoopback(a, dir);
    expect(reserveLoopback({ block: 77, dir })).toBe(a);
  });
  it('takes over a reservation whose owner process is dead', () => {
    const dir = tempPool();
    writeFileSync(join(dir, '127.78.0.2'), '999999999');
    expect(reserveLoopback({ block: 78, dir })).toBe('127.78.0.2');
  });
});
