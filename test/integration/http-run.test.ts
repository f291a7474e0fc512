// The HTTP surface as operators get it: `swarmkeeper run --http-listen` as a real
// process against a real etcd. It serves /healthz, /readyz (ready once etcd answers),
// /metrics (this replica leads), and /v1/alerts behind the bearer token; its log lines
// are JSON and never contain the token; SIGTERM stops it cleanly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import { ALERTING_TEST_BLOCK } from '../support/alertmanager.ts';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';
import { startSwarmkeeperRun, type RunProcess } from '../support/swarmkeeper-run.ts';
import { until as untilShared } from '../support/until.ts';

const TOKEN = 'run-process-token-9f8e7d6c5b4a';

let etcd: EtcdTestCluster | undefined;
let run: RunProcess | undefined;
let address: string | undefined;
let base = '';

beforeAll(async () => {
  etcd = await startEtcdCluster({ size: 1 });
  address = reserveLoopback({ block: ALERTING_TEST_BLOCK });
  run = await startSwarmkeeperRun({
    etcdEndpoints: etcd.endpoints,
    prefix: '/sk-run-http',
    listen: `${address}:0`,
    args: ['--identity', 'http-run-test'],
    env: { SWARMKEEPER_WEBHOOK_TOKEN: TOKEN, SWARMKEEPER_LOG_LEVEL: 'debug' },
  });
  base = run.baseUrl;
}, 120_000);

afterAll(async () => {
  run?.stop();
  await etcd?.stop();
  if (address) releaseLoopback(address);
});

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  return untilShared(what, fn, { timeoutMs: ms, context: () => run?.stderr().slice(-2000) ?? '' });
}

describe('swarmkeeper run --http-listen', () => {
  it('listens on the address it was given', () => {
    expect(base).toMatch(new RegExp(`^http://${address?.replaceAll('.', '\\.')}:\\d+$`));
  });

  it('is alive and ready, and leads', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await until('readiness', async () => {
      const res = await fetch(`${base}/readyz`);
      return res.status === 200 ? ((await res.json()) as { checks: { etcd: string } }) : undefined;
    });
    expect(ready.checks.etcd).toBe('ok');
    const metrics = await until('the leader flag', async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return text.includes('swarmkeeper_leader 1') ? text : undefined;
    });
    expect(metrics).toContain('# TYPE swarmkeeper_reconcile_duration_seconds histogram');
  });

  it('guards /v1/alerts with the token and knows no cluster yet', async () => {
    const body = JSON.stringify({
      version: '4',
      status: 'firing',
      alerts: [{ status: 'firing', labels: { alertname: 'X', swarmkeeper_cluster: 'nope', instance_id: 'i-1' } }],
    });
    const noAuth = await fetch(`${base}/v1/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(noAuth.status).toBe(401);
    const wrong = await fetch(`${base}/v1/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer wrong-token-wrong-token' },
      body,
    });
    expect(wrong.status).toBe(401);
    const ok = await fetch(`${base}/v1/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body,
    });
    expect(ok.status).toBe(404);
    expect(((await ok.json()) as { message: string }).message).toContain('"nope" does not exist');
  });

  it('logs JSON lines without the token, and stops on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => run?.child.once('exit', (code) => resolve(code)));
    run?.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const stderr = run?.stderr() ?? '';
    const lines = stderr.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
    expect(stderr).not.toContain(TOKEN);
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toContain('Refusing an alert request with a wrong bearer token');
  }, 60_000);
});
