// `swarmkeeper run` as a real process with --notify-webhook-url-file and
// --self-instance-id, against a real etcd and a local HTTP receiver on loopback: an
// invalid spec edit reaches the receiver as a Slack-compatible message (after one
// refused attempt: retried with backoff), the metrics count it, the webhook URL (a
// secret) never appears in the log; the leader's /readyz asks the swarm of every
// cluster it manages; bad flag values are usage errors that do not echo the URL.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import { clusterKeys } from '../../src/store/keys.ts';
import { ALERTING_TEST_BLOCK } from '../support/alertmanager.ts';
import { runCli, type CliRun } from '../support/cli-run.ts';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';
import { startSwarmkeeperRun, type RunProcess } from '../support/swarmkeeper-run.ts';
import { until as untilShared } from '../support/until.ts';

const PREFIX = '/sk-run-notify';
const SECRET_PATH = '/services/T0SECRET/B0SECRET/notify-secret-5e4d3c2b1a';
const SELF = 'i-0controllerself';

let etcd: EtcdTestCluster | undefined;
let run: RunProcess | undefined;
let receiver: Server | undefined;
let listenAddress: string | undefined;
let receiverAddress: string | undefined;
let dir = '';
let base = '';
let hookUrl = '';
/** Every POST to the webhook path, in order: the first about the edited cluster is refused with 503. */
const attempts: { status: number; body: string }[] = [];
/** Bodies the receiver accepted. */
const received: { text: string }[] = [];

const sk = (args: string[], env: Record<string, string> = {}): CliRun => runCli({ endpoints: etcd!.endpoints, prefix: PREFIX }, args, env);

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  return untilShared(what, fn, { timeoutMs: ms, context: () => run?.stderr().slice(-2000) ?? '' });
}

beforeAll(async () => {
  etcd = await startEtcdCluster({ size: 1 });
  dir = mkdtempSync(join(tmpdir(), 'sk-run-notify-'));
  listenAddress = reserveLoopback({ block: ALERTING_TEST_BLOCK });
  receiverAddress = reserveLoopback({ block: ALERTING_TEST_BLOCK });
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== SECRET_PATH) {
        res.writeHead(404).end();
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      if (/notified/.test(body) && !attempts.some((a) => /notified/.test(a.body))) {
        attempts.push({ status: 503, body });
        res.writeHead(503).end();
        return;
      }
      attempts.push({ status: 200, body });
      received.push(JSON.parse(body) as { text: string });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver!.listen(0, receiverAddress, resolve));
  const port = (receiver.address() as { port: number }).port;
  hookUrl = `http://${receiverAddress}:${port}${SECRET_PATH}`;
  writeFileSync(join(dir, 'hook-url'), `${hookUrl}\n`, { mode: 0o600 });

  run = await startSwarmkeeperRun({
    etcdEndpoints: etcd.endpoints,
    prefix: PREFIX,
    listen: `${listenAddress}:0`,
    args: ['--identity', 'notify-run-test', '--notify-webhook-url-file', join(dir, 'hook-url'), '--resync-seconds', '2'],
    env: { SWARMKEEPER_SELF_INSTANCE_ID: SELF, SWARMKEEPER_LOG_LEVEL: 'debug' },
  });
  base = run.baseUrl;
}, 150_000);

afterAll(async () => {
  run?.stop();
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
  await etcd?.stop();
  if (listenAddress) releaseLoopback(listenAddress);
  if (receiverAddress) releaseLoopback(receiverAddress);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Ready {
  leader: boolean;
  checks: { etcd: string; swarm: string };
}

describe('swarmkeeper run --notify-webhook-url-file --self-instance-id', () => {
  it('takes its own instance id from SWARMKEEPER_SELF_INSTANCE_ID', () => {
    const stderr = run?.stderr() ?? '';
    const line = stderr.split('\n').find((l) => l.includes('Replacing the node this controller runs on last'));
    expect(line, stderr.slice(-2000)).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ selfInstanceId: SELF });
  });

  it('as leader with no cluster, is ready and its swarm check passes (nothing to reach)', async () => {
    const ready = await until('leader readiness', async () => {
      const res = await fetch(`${base}/readyz`);
      const body = (await res.json()) as Ready;
      return res.status === 200 && body.leader ? body : undefined;
    });
    expect(ready.checks).toEqual({ etcd: 'ok', swarm: 'ok' });
  });

  it('posts an invalid spec edit to the webhook, retrying a refused attempt, and counts it', async () => {
    const spec = join(dir, 'cluster.yaml');
    writeFileSync(
      spec,
      'apiVersion: swarmkeeper.dev/v1alpha1\nkind: SwarmCluster\nmetadata: { name: notified }\nspec:\n  managers: { count: 1 }\n  workers: { count: 0 }\n  provider: { sim: {} }\n',
    );
    expect(sk(['apply', '-f', spec])).toMatchObject({ code: 0 });
    // A plain etcd write of an invalid document (apply would refuse it).
    const client = etcd!.client();
    try {
      await client
        .put(clusterKeys(PREFIX, 'notified').spec)
        .value(
          'apiVersion: swarmkeeper.dev/v1alpha1\nkind: SwarmCluster\nmetadata: { name: notified }\nspec:\n  managers: { count: 2 }\n  workers: { count: 0 }\n  provider: { sim: {} }\n',
        );
    } finally {
      client.close();
    }
    const message = await until('a notification', async () => received.find((m) => /notified/.test(JSON.stringify(m))));
    // The same notification was refused once and then sent again, not a second one.
    const aboutIt = attempts.filter((a) => /notified/.test(a.body));
    expect(aboutIt.map((a) => a.status).slice(0, 2)).toEqual([503, 200]);
    expect(aboutIt[1]?.body).toBe(aboutIt[0]?.body);
    expect(message.text).toMatch(/spec/i);
    expect(JSON.stringify(message)).toMatch(/managers\.count/);
    const metrics = await until('the sent counter', async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return /swarmkeeper_notifications_total\{outcome="sent"\} [1-9]/.test(text) ? text : undefined;
    });
    expect(metrics).toContain('swarmkeeper_notifications_total');
  });

  it("as leader, is not ready while it cannot reach a cluster's swarm (the sim provider cannot run here)", async () => {
    const res = await until('not ready', async () => {
      const r = await fetch(`${base}/readyz`);
      return r.status === 503 ? r : undefined;
    });
    expect(((await res.json()) as Ready).checks).toEqual({ etcd: 'ok', swarm: 'failed' });
  });

  it('refuses unusable values as usage errors (exit 2) without echoing the URL', () => {
    const notUrl = 'ftp://hooks.example/secret-value-77';
    writeFileSync(join(dir, 'bad-url'), notUrl);
    const bad = sk(['run', '--notify-webhook-url-file', join(dir, 'bad-url')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--notify-webhook-url-file');
    expect(bad.stderr).not.toContain('secret-value-77');
    const badEnv = sk(['run'], { SWARMKEEPER_NOTIFY_WEBHOOK_URL: 'not a url secret-value-88' });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain('SWARMKEEPER_NOTIFY_WEBHOOK_URL');
    expect(badEnv.stderr).not.toContain('secret-value-88');
    expect(sk(['run', '--notify-webhook-url-file', join(dir, 'missing')]).stderr).toMatch(/--notify-webhook-url-file .*missing: ENOENT/);
    expect(sk(['run', '--self-instance-id', 'two words'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--self-instance-id'),
    });
  });

  it('stops on SIGTERM; no log line carries the webhook URL', async () => {
    const exited = new Promise<number | null>((resolve) => run?.child.once('exit', (code) => resolve(code)));
    run?.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const stderr = run?.stderr() ?? '';
    expect(stderr).toContain('Sending notifications to the configured webhook');
    expect(stderr).not.toContain('notify-secret-5e4d3c2b1a');
    expect(stderr).not.toContain(SECRET_PATH);
  }, 60_000);
});
