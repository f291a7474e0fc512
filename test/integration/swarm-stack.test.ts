// The shipped manifests/swarm/stack.yml, deployed as a user deploys it, takes over from
// a controller outside the swarm: a node booted under real systemd (systemd-nspawn, the
// node harness of ec2-node-boot.test.ts) from the user-data the renderer makes, so its
// /run/swarmkeeper/node.env is written by the metadata script (IMDSv2 stand-in: the one
// substitution); inside it `docker swarm init`, the management image loaded (scripts/
// image.sh), the secrets the stack's header lists created, and `docker stack deploy -c
// manifests/swarm/stack.yml` with only the documented variables set. The management etcd
// runs with TLS and a password for the `swarmkeeper` user the stack names.
//
// Shows: the replica serves HTTPS on the node's private address, port 8443 (host
// network, address from node.env), its health check turns healthy, it waits as a
// follower while the outside controller leads, and leads once that one is stopped
// (SIGTERM: it resigns). One manager node: the second replica stays pending
// (max_replicas_per_node 1): the service shows 1/2.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderUserData } from '../../src/cloudconfig/user-data.ts';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import { makeTestCertificates, type TestCertificates } from '../support/certs.ts';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';
import { bootNodeFromUserData, type BootedNode } from '../support/node-host.ts';
import { buildSwarmkeeperImage } from '../support/swarmkeeper-image.ts';
import { startSwarmkeeperRun, type RunProcess } from '../support/swarmkeeper-run.ts';
import { until } from '../support/until.ts';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const ROOT_PASSWORD = 'stack-test-root-password';
const USER_PASSWORD = 'stack-test-swarmkeeper-password';
const PREFIX = '/swarmkeeper';

let etcd: EtcdTestCluster;
let node: BootedNode | undefined;
let outside: RunProcess | undefined;
let address = '';
let outsideAddress = '';
let certs: TestCertificates;

/**
 * Runs `docker …` inside the node (its mount namespace: its socket, its files). Never
 * blocking: the node's metadata stand-in answers from this process.
 */
async function docker(args: readonly string[], env: Record<string, string> = {}, withStderr = false): Promise<string> {
  const pid = node?.initPid();
  if (pid === undefined) throw new Error('the node is not running');
  const { stdout, stderr } = await run(
    'nsenter',
    ['--target', String(pid), '--mount', '--pid', '--', 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'docker', ...args],
    {
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  return withStderr ? stdout + stderr : stdout;
}

/** GET over HTTPS, trusting the test CA. */
function httpsGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca: readFileSync(certs.caFile), timeout: 5_000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function leaderOf(url: string): Promise<boolean | undefined> {
  try {
    return (JSON.parse((await httpsGet(`${url}/readyz`)).body) as { leader?: boolean }).leader;
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  const image = buildSwarmkeeperImage();
  address = reserveLoopback({ block: 239 });
  outsideAddress = reserveLoopback({ block: 239 });
  etcd = await startEtcdCluster({ size: 1, tls: true, auth: { rootPassword: ROOT_PASSWORD } });
  // The user the stack names, allowed the controller's prefix only.
  const client = etcd.client();
  try {
    const role = client.role('swarmkeeper');
    await role.create();
    await role.grant({ permission: 'Readwrite', range: client.range({ prefix: PREFIX }) });
    const user = await client.user('swarmkeeper').create(USER_PASSWORD);
    await user.addRole('swarmkeeper');
  } finally {
    client.close();
  }
  certs = makeTestCertificates(etcd.dir, [address, outsideAddress], { name: 'controller' });
  const userData = renderUserData({
    agent: {
      cluster: 'stack',
      role: 'manager',
      managementEtcd: { endpoints: [], prefix: PREFIX },
      bootstrapUrl: `https://${address}:8443`,
      bootstrapToken: 'skb1.stacktesttoken.0123456789abcdef0123456789abcdef',
      // Never pulled here (the agent is not what this test is about): a refused registry.
      agentImage: '127.0.0.1:9/swarmkeeper:0.1.0',
    },
    units: [],
    format: 'ignition',
  }).text;
  node = await bootNodeFromUserData({ instanceId: `i-0stack${String(process.pid % 100000).padStart(5, '0')}`, address, userData });
  await until(
    'docker in the node',
    async () => (await docker(['version', '--format', '{{.Server.Version}}']).catch(() => '')).trim() || undefined,
    {
      timeoutMs: 240_000,
      intervalMs: 1000,
      context: () => node?.journal('docker.service') ?? '',
    },
  );
  await docker(['swarm', 'init', '--advertise-addr', address, '--listen-addr', `${address}:2377`]);
  // The image, loaded into the node's dockerd from the cached archive (through stdin).
  const { archive } = await image;
  await new Promise<void>((resolve, reject) => {
    const load = spawn('nsenter', ['--target', String(node?.initPid()), '--mount', '--pid', '--', 'docker', 'load'], {
      stdio: [openSync(archive, 'r'), 'ignore', 'pipe'],
    });
    let err = '';
    load.stderr?.on('data', (b: Buffer) => (err += b.toString()));
    load.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`docker load in the node: ${err}`))));
  });
}, 1_800_000);

afterAll(async () => {
  outside?.stop();
  await node?.remove();
  await etcd?.stop();
  for (const a of [address, outsideAddress]) if (a) releaseLoopback(a);
}, 120_000);

describe('manifests/swarm/stack.yml on a swarm manager', () => {
  it('serves HTTPS on the node address, waits while an outside controller leads, and takes over when it stops', async () => {
    const etcdEnv = {
      SWARMKEEPER_ETCD_CACERT: etcd.tls?.caFile ?? '',
      SWARMKEEPER_ETCD_CERT: etcd.tls?.certFile ?? '',
      SWARMKEEPER_ETCD_KEY: etcd.tls?.keyFile ?? '',
      SWARMKEEPER_ETCD_USERNAME: 'swarmkeeper',
      SWARMKEEPER_ETCD_PASSWORD: USER_PASSWORD,
    };
    // 1. The controller outside the swarm, as on an admin host: it leads.
    outside = await startSwarmkeeperRun({
      etcdEndpoints: etcd.endpoints,
      prefix: PREFIX,
      listen: `${outsideAddress}:8443`,
      args: ['--identity', 'outside'],
      env: {
        ...etcdEnv,
        SWARMKEEPER_TLS_CERT_FILE: certs.serverCertFile,
        SWARMKEEPER_TLS_KEY_FILE: certs.serverKeyFile,
        SWARMKEEPER_WEBHOOK_TOKEN: '',
      },
    });
    await until('the outside controller to lead', () => leaderOf(outside?.baseUrl ?? ''), { timeoutMs: 60_000, intervalMs: 500 });

    // 2. The secrets the stack's header lists, then the stack with its documented variables.
    const dir = join(node?.root ?? '', 'root/stack');
    mkdirSync(dir, { recursive: true });
    const secrets: Record<string, string> = {
      swarmkeeper_etcd_password: USER_PASSWORD,
      swarmkeeper_etcd_ca: readFileSync(etcd.tls?.caFile ?? '', 'utf8'),
      swarmkeeper_etcd_cert: readFileSync(etcd.tls?.certFile ?? '', 'utf8'),
      swarmkeeper_etcd_key: readFileSync(etcd.tls?.keyFile ?? '', 'utf8'),
      swarmkeeper_tls_cert: readFileSync(certs.serverCertFile, 'utf8'),
      swarmkeeper_tls_key: readFileSync(certs.serverKeyFile, 'utf8'),
      swarmkeeper_bootstrap_ca: readFileSync(certs.caFile, 'utf8'),
      swarmkeeper_alert_token: 'stack-test-alert-token-0123456789abcdef',
    };
    const header = readFileSync(join(ROOT, 'manifests/swarm/stack.yml'), 'utf8');
    for (const name of Object.keys(secrets)) expect(header).toContain(`docker secret create ${name} `);
    for (const [name, value] of Object.entries(secrets)) {
      writeFileSync(join(dir, name), value, { mode: 0o600 });
      await docker(['secret', 'create', name, `/root/stack/${name}`]);
    }
    writeFileSync(join(dir, 'stack.yml'), header);
    const vars = {
      SWARMKEEPER_ETCD_ENDPOINTS: etcd.endpoints.join(','),
      SWARMKEEPER_BOOTSTRAP_URL: `https://${address}:8443`,
      SWARMKEEPER_IMAGE: (await buildSwarmkeeperImage()).ref,
    };
    await docker(['stack', 'deploy', '--resolve-image', 'never', '-c', '/root/stack/stack.yml', 'swarmkeeper'], vars);

    // 3. The replica serves HTTPS on the node's private address and follows.
    const replica = `https://${address}:8443`;
    await until(
      'the stack replica to serve on the node address',
      async () => (await httpsGet(`${replica}/healthz`).catch(() => undefined))?.status === 200,
      {
        timeoutMs: 180_000,
        intervalMs: 1000,
        context: () => node?.journal('docker.service') ?? '',
      },
    );
    expect(await leaderOf(replica)).toBe(false);
    expect(await leaderOf(outside.baseUrl)).toBe(true);
    // Its health check (HTTPS on the node.env address) turns healthy.
    const container = (await docker(['ps', '-q', '--filter', 'label=com.docker.swarm.service.name=swarmkeeper_controller'])).trim();
    let health = '';
    await until(
      'the replica to be healthy',
      async () => {
        health = await docker(['inspect', '-f', '{{json .State.Health}}', container]);
        return (JSON.parse(health) as { Status?: string }).Status === 'healthy';
      },
      { timeoutMs: 150_000, intervalMs: 2000, context: () => health },
    );
    // One manager: the healthy replica counts as running, the other waits for a second manager.
    await until(
      'the service to count its running replica',
      async () => /^1\/2\b/.test(await docker(['service', 'ls', '--format', '{{.Replicas}}', '--filter', 'name=swarmkeeper_controller'])),
      {
        timeoutMs: 60_000,
        intervalMs: 1000,
      },
    );

    // 4. The outside controller stops (SIGTERM: it resigns); the replica leads.
    const stoppedAt = Date.now();
    process.kill(-(outside.child.pid ?? 0), 'SIGTERM');
    await until('the stack replica to lead', () => leaderOf(replica), { timeoutMs: 60_000, intervalMs: 250 });
    console.log(`swarm stack: hand-over took ${Date.now() - stoppedAt} ms`);
    // It found its own instance id in node.env (replaced last when it is a cluster node).
    expect(await docker(['service', 'logs', '--raw', 'swarmkeeper_controller'], {}, true)).toContain(
      'Replacing the node this controller runs on last',
    );
  }, 900_000);
});
