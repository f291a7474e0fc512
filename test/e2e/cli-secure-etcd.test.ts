// The CLI's global etcd flags and env vars against an etcd with TLS client
// certificates and username/password auth; a refused password is never echoed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCluster } from '../../src/spec/codec.ts';
import { aSwarmCluster } from '../support/spec-fixtures.ts';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';

const BIN = new URL('../../bin/swarmkeeper.js', import.meta.url).pathname;
const PASSWORD = 'Tr0ub4dor-and-3';
let etcd: EtcdTestCluster;
let dir: string;

beforeAll(async () => {
  etcd = await startEtcdCluster({ size: 1, tls: true, auth: { rootPassword: PASSWORD } });
  dir = mkdtempSync(join(tmpdir(), 'sk-cli-tls-'));
});
afterAll(async () => {
  await etcd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function sk(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  // Only what the test gives: no SWARMKEEPER_* from the outer environment.
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SWARMKEEPER_'))) as Record<string, string>;
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...clean, ...env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('CLI against TLS + auth etcd', () => {
  it('works with flags', () => {
    const tls = etcd.tls!;
    const f = join(dir, 'c.yaml');
    writeFileSync(f, formatCluster(aSwarmCluster({ name: 'secure' }), 'yaml'));
    const flags = [
      '--etcd-endpoints',
      etcd.endpoints.join(','),
      '--etcd-cacert',
      tls.caFile,
      '--etcd-cert',
      tls.certFile,
      '--etcd-key',
      tls.keyFile,
      '--etcd-username',
      'root',
    ];
    const r = sk([...flags, 'apply', '-f', f], { SWARMKEEPER_ETCD_PASSWORD: PASSWORD });
    expect(r, r.stderr).toMatchObject({ code: 0, stdout: 'swarmcluster.swarmkeeper.dev/secure created\n' });
  });

  it('works with environment variables alone', () => {
    const tls = etcd.tls!;
    const env = {
      SWARMKEEPER_ETCD_ENDPOINTS: etcd.endpoints.join(','),
      SWARMKEEPER_ETCD_CACERT: tls.caFile,
      SWARMKEEPER_ETCD_CERT: tls.certFile,
      SWARMKEEPER_ETCD_KEY: tls.keyFile,
      SWARMKEEPER_ETCD_USERNAME: 'root',
      SWARMKEEPER_ETCD_PASSWORD: PASSWORD,
    };
    const r = sk(['get', 'secure'], env);
    expect(r, r.stderr).toMatchObject({ code: 0 });
    expect(r.stdout).toMatch(/^NAME\s+MANAGERS/);

    const wrong = sk(['get', 'secure'], { ...env, SWARMKEEPER_ETCD_PASSWORD: 'not-the-Password-9' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/authentication failed/);
    expect(wrong.stderr + wrong.stdout).not.toContain('not-the-Password-9');
    expect(wrong.stderr + wrong.stdout).not.toContain(PASSWORD);
  });
});
