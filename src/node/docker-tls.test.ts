import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dockerTlsPaths, writeDockerTls } from './docker-tls.ts';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('writeDockerTls', () => {
  it('leaves files with the same content untouched, so a PathChanged= unit does not restart docker again', () => {
    dir = mkdtempSync(join(tmpdir(), 'sk-docker-tls-'));
    const p = dockerTlsPaths(dir);
    expect(writeDockerTls(dir, { ca: 'CA-1', cert: 'CERT-1' })).toBe(true);
    const first = { ca: statSync(p.ca).ino, cert: statSync(p.cert).ino };
    // Nothing written: dockerd already serves this certificate, no restart comes.
    expect(writeDockerTls(dir, { ca: 'CA-1\n', cert: 'CERT-1' })).toBe(false);
    expect({ ca: statSync(p.ca).ino, cert: statSync(p.cert).ino }).toEqual(first);
    expect(writeDockerTls(dir, { ca: 'CA-1', cert: 'CERT-2' })).toBe(true);
    expect(statSync(p.ca).ino).toBe(first.ca);
    expect(statSync(p.cert).ino).not.toBe(first.cert);
    expect(readFileSync(p.cert, 'utf8')).toBe('CERT-2\n');
  });
});
