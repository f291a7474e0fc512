import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { listeningAddresses, releaseLoopback, reserveLoopback } from './loopback-pool.ts';

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
  it('passes over an address where a process its dead owner left behind still listens', async () => {
    const dir = tempPool();
    writeFileSync(join(dir, '127.79.0.2'), '999999999');
    const leftover = await listen('127.79.0.2');
    try {
      expect(reserveLoopback({ block: 79, dir })).toBe('127.79.0.3');
    } finally {
      await new Promise((r) => leftover.close(r));
    }
    expect(reserveLoopback({ block: 79, dir })).toBe('127.79.0.2');
  });
});

describe('listeningAddresses', () => {
  it('reads the listening IPv4 addresses of /proc/net/tcp, not the wildcard and not other states', () => {
    const file = join(tempPool(), 'tcp');
    writeFileSync(
      file,
      [
        '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
        '   0: 02004F7F:0953 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0',
        '   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0',
        '   2: 03004F7F:0953 02004F7F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0',
      ].join('\n'),
    );
    expect([...listeningAddresses(file)]).toEqual(['127.79.0.2']);
  });
});

function listen(host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => resolve(server));
  });
}
