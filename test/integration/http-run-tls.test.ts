// `swarmkeeper run` serving HTTPS from certificate files given in the environment
// (SWARMKEEPER_TLS_CERT_FILE/_KEY_FILE, as a container passes them) with a trusted
// proxy configured, against a real etcd: it announces an https:// URL, answers over TLS
// to clients of the CA, and refuses at start, as usage errors (exit 2), the settings
// that would leave it serving something other than what the operator meant.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import { ALERTING_TEST_BLOCK } from '../support/alertmanager.ts';
import { makeTestCertificates, type TestCertificates } from '../support/certs.ts';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';
import { startSwarmkeeperRun, type RunProcess } from '../support/swarmkeeper-run.ts';

const CLI = new URL('../../bin/swarmkeeper.js', import.meta.url).pathname;
const PREFIX = '/sk-run-tls';
const TOKEN = 'tls-run-token-0a1b2c3d4e5f6a7b';

let etcd: EtcdTestCluster | undefined;
let run: RunProcess | undefined;
let address: string | undefined;
let dir = '';
let certs: TestCertificates;

/** Runs the CLI to its exit (the refusals below come before it connects anywhere). */
function sk(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const argv = [CLI, '--etcd-endpoints', etcd!.endpoints.join(','), '--prefix', PREFIX, ...args];
    execFile(
      process.execPath,
      argv,
      { env: { ...process.env, SWARMKEEPER_WEBHOOK_TOKEN: '', ...env }, timeout: 120_000 },
      (err, _stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr });
      },
    );
  });
}

function httpsGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca: readFileSync(certs.caFile) }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  etcd = await startEtcdCluster({ size: 1 });
  dir = mkdtempSync(join(tmpdir(), 'sk-run-tls-'));
  address = reserveLoopback({ block: ALERTING_TEST_BLOCK });
  certs = makeTestCertificates(dir, [address]);
  run = await startSwarmkeeperRun({
    etcdEndpoints: etcd.endpoints,
    prefix: PREFIX,
    listen: `${address}:0`,
    args: ['--identity', 'tls-run-test', '--trusted-proxy', '127.0.0.1'],
    env: {
      SWARMKEEPER_TLS_CERT_FILE: certs.serverCertFile,
      SWARMKEEPER_TLS_KEY_FILE: certs.serverKeyFile,
      SWARMKEEPER_WEBHOOK_TOKEN: TOKEN,
    },
  });
}, 120_000);

afterAll(async () => {
  run?.stop();
  await etcd?.stop();
  if (address) releaseLoopback(address);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('swarmkeeper run with TLS certificate files', () => {
  it('serves https:// on the address it was given', async () => {
    expect(run?.baseUrl).toMatch(new RegExp(`^https://${address?.replaceAll('.', '\\.')}:\\d+$`));
    expect(await httpsGet(`${run?.baseUrl}/healthz`)).toEqual({ status: 200, body: '{"status":"ok"}' });
    await expect.poll(async () => (await httpsGet(`${run?.baseUrl}/readyz`)).status, { timeout: 30_000 }).toBe(200);
  });

  it('refuses settings that do not fit, as usage errors naming the flag', async () => {
    const blank = join(dir, 'blank-token');
    writeFileSync(blank, '\n\n');
    // Each case is a CLI start (about 1.5 s of CPU; several at once on a loaded machine).
    const short = join(dir, 'short-token');
    writeFileSync(short, 'abc');
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['run', '--http-listen', ':0', '--tls-cert-file', certs.serverCertFile], {}, /give both --tls-cert-file and --tls-key-file/],
      [
        ['run', '--http-listen', ':0', '--tls-cert-file', certs.serverCertFile, '--tls-key-file', certs.keyFile],
        {},
        /are not a certificate and its private key/,
      ],
      [
        ['run'],
        { SWARMKEEPER_TLS_CERT_FILE: certs.serverCertFile, SWARMKEEPER_TLS_KEY_FILE: certs.serverKeyFile },
        /--http-listen is needed too/,
      ],
      [['run', '--http-listen', ':0', '--trusted-proxy', '*'], {}, /--trusted-proxy: "\*" is not an IP address/],
      [['run', '--http-listen', ':0', '--webhook-token-file', blank], {}, /--webhook-token-file .*blank-token: the token is blank/],
      [['run', '--http-listen', ':0', '--webhook-token-file', short], {}, /at least 16 characters/],
      [['run', '--http-listen', ':0'], { SWARMKEEPER_WEBHOOK_TOKEN: '   ' }, /SWARMKEEPER_WEBHOOK_TOKEN: the token is blank/],
    ];
    const results = await Promise.all(cases.map(([args, env]) => sk(args, env)));
    for (const [i, [args, , message]] of cases.entries()) {
      const r = results[i]!;
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toContain('PRIVATE KEY');
    }
  });

  it('never logs the key or the token, and stops on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => run?.child.once('exit', (code) => resolve(code)));
    run?.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const stderr = run?.stderr() ?? '';
    expect(stderr).not.toContain(TOKEN);
    expect(stderr).not.toContain('PRIVATE KEY');
  });
});
