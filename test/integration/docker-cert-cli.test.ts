// `swarmkeeper docker-cert` as a user runs it (bin/swarmkeeper.js in a child process,
// a real management etcd): it writes the cluster's docker CA and a client certificate
// signed by it (openssl verifies it), creates the CA record when the cluster has none (the
// cluster then uses docker TLS), never overwrites files, never prints a key, and refuses an
// unknown cluster and a cluster that is not ec2 without creating anything.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterDockerTls } from '../../src/controller/cluster-docker-tls.ts';
import { etcdDockerCaSecrets } from '../../src/store/create-once-secret.ts';
import { EtcdClusterStore } from '../../src/store/etcd-store.ts';
import { runCli, type CliRun } from '../support/cli-run.ts';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';
import { aSwarmCluster, anEc2Cluster } from '../support/spec-fixtures.ts';

const PREFIX = '/sk-docker-cert';
let etcd: EtcdTestCluster;
let dir: string;

const sk = (args: string[]): CliRun => runCli({ endpoints: etcd.endpoints, prefix: PREFIX }, args);

async function caRecordExists(cluster: string): Promise<boolean> {
  const client = etcd.client();
  try {
    return await etcdDockerCaSecrets(client, PREFIX)(cluster).exists();
  } finally {
    client.close();
  }
}

beforeAll(async () => {
  etcd = await startEtcdCluster({ size: 1 });
  dir = mkdtempSync(join(tmpdir(), 'sk-docker-cert-'));
  const store = new EtcdClusterStore(etcd.client(), { prefix: PREFIX });
  await store.apply(anEc2Cluster({ name: 'prod' }));
  await store.apply(aSwarmCluster({ name: 'lab' }));
  await store.close();
}, 120_000);

afterAll(async () => {
  await etcd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('swarmkeeper docker-cert', () => {
  it("writes the cluster's CA and a client certificate it signed, and prints the settings that point at them", async () => {
    expect(await caRecordExists('prod')).toBe(false);
    const out = join(dir, 'prod');
    const r = sk(['docker-cert', 'prod', '--out-dir', out]);
    expect(r.stderr).toContain(`wrote ${out}/ca.pem`);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `SWARMKEEPER_DOCKER_TLS_CA=${out}/ca.pem\nSWARMKEEPER_DOCKER_TLS_CERT=${out}/cert.pem\nSWARMKEEPER_DOCKER_TLS_KEY=${out}/key.pem\n`,
    );
    expect(r.stdout + r.stderr).not.toContain('PRIVATE KEY');
    expect(statSync(join(out, 'key.pem')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(out, 'key.pem'), 'utf8')).toContain('PRIVATE KEY');
    expect(execFileSync('openssl', ['verify', '-CAfile', join(out, 'ca.pem'), join(out, 'cert.pem')], { encoding: 'utf8' })).toContain(
      ': OK',
    );
    const ext = execFileSync('openssl', ['x509', '-in', join(out, 'cert.pem'), '-noout', '-subject', '-ext', 'extendedKeyUsage'], {
      encoding: 'utf8',
    });
    expect(ext).toContain('CN = swarmkeeper-controller');
    expect(ext).toContain('TLS Web Client Authentication');
    // The expiry printed is the certificate's own (to the second: printed in ISO form).
    const enddate = execFileSync('openssl', ['x509', '-in', join(out, 'cert.pem'), '-noout', '-enddate'], { encoding: 'utf8' });
    const printed = /valid until (\S+)\)/.exec(r.stderr)?.[1];
    expect(Math.abs(Date.parse(printed ?? '') - Date.parse(enddate.replace('notAfter=', '').trim()))).toBeLessThan(1_000);
    // The CA is the cluster's record, which now says the cluster uses docker TLS.
    const client = etcd.client();
    try {
      const onSocket = clusterDockerTls({
        secretOf: etcdDockerCaSecrets(client, PREFIX),
        controllerUsesTls: false,
      });
      expect(await onSocket.usesDockerTls('prod')).toBe(true);
      expect((await onSocket.caOf('prod'))?.caPem).toBe(readFileSync(join(out, 'ca.pem'), 'utf8'));
    } finally {
      client.close();
    }
    // A second operator gets a certificate of the same CA.
    const other = join(dir, 'alice');
    expect(sk(['docker-cert', 'prod', '--out-dir', other, '--common-name', 'alice']).code).toBe(0);
    expect(readFileSync(join(other, 'ca.pem'), 'utf8')).toBe(readFileSync(join(out, 'ca.pem'), 'utf8'));
    expect(readFileSync(join(other, 'cert.pem'), 'utf8')).not.toBe(readFileSync(join(out, 'cert.pem'), 'utf8'));
  });

  it('never overwrites: files already in --out-dir are a usage error and stay as they were', () => {
    const out = join(dir, 'prod');
    const before = readFileSync(join(out, 'key.pem'), 'utf8');
    const r = sk(['docker-cert', 'prod', '--out-dir', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${out}/ca.pem, ${out}/cert.pem, ${out}/key.pem already exist`);
    expect(readFileSync(join(out, 'key.pem'), 'utf8')).toBe(before);
  });

  it('refuses an unknown cluster and a cluster that is not ec2, creating nothing', async () => {
    const missing = sk(['docker-cert', 'nope', '--out-dir', join(dir, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('"nope" not found');
    const local = sk(['docker-cert', 'lab', '--out-dir', join(dir, 'lab')]);
    expect(local.code).toBe(1);
    expect(local.stderr).toContain('cluster lab uses provider local');
    expect(existsSync(join(dir, 'nope'))).toBe(false);
    expect(existsSync(join(dir, 'lab'))).toBe(false);
    expect(await caRecordExists('nope')).toBe(false);
    expect(await caRecordExists('lab')).toBe(false);
  });
});
