// The first manager of an EC2 cluster keeps its etcd up from birth. A lone manager booted
// under real systemd (systemd-nspawn, the node harness of ec2-node-boot.test.ts) from the
// Ignition user-data the renderer makes, with docker TLS on, runs the real agent from the
// project image (scripts/image.sh). Its bootstrap answer (the controller's real
// /v1/bootstrap route on loopback, with a real management etcd and the cluster's docker
// CA) carries its docker certificate; the agent writes it, and swarmkeeper-docker-tls.path
// restarts dockerd to serve it, which stops the agent's container and whatever it runs.
// The agent starts etcd only once it comes back with the certificate in force: sampled
// every 100 ms from its first healthy answer until the node has joined and dockerd serves
// the certificate, etcd never stops answering and is started once.
//
// Substitutions: the metadata address (an IMDSv2 stand-in on loopback, as in every node
// test) and the image's way in: the agent image is named in a registry that refuses
// (127.0.0.1:9), the bootstrap unit's pull fails and Restart= tries again, and meanwhile
// the test loads the image (scripts/image.sh --load) into the node's dockerd, so the next
// start finds it, as it finds a pulled one.
import { execFile } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Etcd3 } from 'etcd3';
import type { FastifyInstance } from 'fastify';
import { renderUserData } from '../../src/cloudconfig/user-data.ts';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import { bootstrapRouteApp } from '../support/bootstrap-route.ts';
import { loadOrCreateDockerCa, type DockerCa } from '../../src/providers/ec2/docker-ca.ts';
import { DOCKER_CA_SECRET, etcdCreateOnceSecret } from '../../src/store/create-once-secret.ts';
import { EtcdBootstrapTokens } from '../../src/store/bootstrap-tokens.ts';
import { EtcdManagementKv } from '../../src/store/management-kv.ts';
import type { Instance } from '../../src/model/snapshot.ts';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';
import { bootNodeFromUserData, type BootedNode } from '../support/node-host.ts';
import { loadSwarmkeeperImage } from '../support/swarmkeeper-image.ts';
import { PACKAGE_VERSION } from '../../src/version.ts';
import { until } from '../support/until.ts';

const run = promisify(execFile);
const CLUSTER = 'founder';
const PREFIX = '/sk-founder';
/** A registry address that refuses: the image comes in by `docker load` instead. */
const AGENT_REPOSITORY = '127.0.0.1:9/swarmkeeper';

let etcd: EtcdTestCluster;
let client: Etcd3;
let app: FastifyInstance | undefined;
let node: BootedNode | undefined;
let address = '';
let routeAddress = '';
let ca: DockerCa;

beforeAll(async () => {
  address = reserveLoopback({ block: 240 });
  routeAddress = reserveLoopback({ block: 240 });
  etcd = await startEtcdCluster({ size: 1 });
  client = etcd.client();
  ca = await loadOrCreateDockerCa(etcdCreateOnceSecret(client, PREFIX, CLUSTER, DOCKER_CA_SECRET), CLUSTER);
  const tokens = new EtcdBootstrapTokens(client, PREFIX);
  const clientToken = 'launch-founder-1';
  const token = await tokens.issue({ cluster: CLUSTER, role: 'manager', clientToken, ttlSeconds: 3600 });
  const instance: Instance = {
    id: `i-0founder${String(process.pid % 100000).padStart(5, '0')}`,
    role: 'manager',
    state: 'running',
    launchedAt: 0,
    address,
    configHash: 'h',
    clientToken,
    tags: {},
  };
  app = await bootstrapRouteApp({ client, prefix: PREFIX, tokens, instance, dockerCa: async () => ca });
  await app.listen({ host: routeAddress, port: 0 });
  const port = (app.server.address() as { port: number }).port;
  const agentImage = `${AGENT_REPOSITORY}:${PACKAGE_VERSION}`;
  const userData = renderUserData({
    agent: {
      cluster: CLUSTER,
      role: 'manager',
      managementEtcd: { endpoints: [], prefix: PREFIX },
      bootstrapUrl: `http://${routeAddress}:${port}`,
      bootstrapToken: token,
      agentImage,
    },
    units: [],
    format: 'ignition',
    dockerTls: true,
  }).text;
  node = await bootNodeFromUserData({ instanceId: instance.id, address, userData });
  await until('docker in the node', async () => (await nodeDocker(['version', '--format', '{{.Server.Version}}'])).trim() || undefined, {
    timeoutMs: 240_000,
    intervalMs: 1000,
    context: () => node?.journal('docker.service') ?? '',
  });
  // Into the node's dockerd through its socket as the host reaches it (the node's /run is its own).
  const ref = await loadSwarmkeeperImage(`unix:///proc/${node.initPid()}/root/run/docker.sock`);
  if ((await nodeDocker(['tag', ref, agentImage])) === '' && (await nodeDocker(['image', 'inspect', agentImage])) === '')
    throw new Error(`tagging ${ref} as ${agentImage} in the node failed`);
}, 1_800_000);

afterAll(async () => {
  await node?.remove();
  await app?.close();
  client?.close();
  await etcd?.stop();
  for (const a of [address, routeAddress]) if (a) releaseLoopback(a);
}, 120_000);

/**
 * `docker …` inside the node (its mount namespace: its socket); '' while it does not
 * answer. Never blocking: the node's metadata stand-in answers from this process.
 */
async function nodeDocker(args: readonly string[]): Promise<string> {
  const pid = node?.initPid();
  if (pid === undefined) return '';
  try {
    const { stdout } = await run('nsenter', ['--target', String(pid), '--mount', '--pid', '--', 'docker', ...args], { timeout: 60_000 });
    return stdout;
  } catch {
    return '';
  }
}

/** GET over HTTP; undefined when it does not answer within 2 s. */
async function get(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

/** The certificate dockerd serves on the node's TLS port, to a client of the cluster's CA. */
async function servedDockerCert(): Promise<string | undefined> {
  const me = await ca.issueClientCert('founder-test');
  return new Promise((resolve) => {
    const req = httpsRequest(
      { host: address, port: 2376, path: '/version', ca: ca.caPem, cert: me.cert, key: me.key, timeout: 3_000 },
      (res) => {
        const peer = (res.socket as import('node:tls').TLSSocket).getPeerX509Certificate?.();
        res.resume();
        resolve(res.statusCode === 200 ? peer?.toString() : undefined);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** Samples the node's etcd /health every 100 ms; records the longest time without a healthy answer. */
function sampleEtcdHealth(url: string): { stop(): { samples: number; longestGapMs: number } } {
  let lastHealthy = Date.now();
  let longestGapMs = 0;
  let samples = 0;
  let stopped = false;
  void (async () => {
    while (!stopped) {
      const started = Date.now();
      const body = await get(url);
      samples++;
      if (body?.includes('"health":"true"')) {
        longestGapMs = Math.max(longestGapMs, Date.now() - lastHealthy);
        lastHealthy = Date.now();
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - started))));
    }
  })();
  return {
    stop() {
      stopped = true;
      return { samples, longestGapMs: Math.max(longestGapMs, Date.now() - lastHealthy) };
    },
  };
}

describe('the first manager of an EC2 cluster, docker TLS on (real systemd, the real agent image)', () => {
  it('starts etcd only after dockerd restarted with its new certificate: no etcd gap from its first health to the join', async () => {
    const health = `http://${address}:2379/health`;
    const agentLog = (): string => node?.journal('swarmkeeper-bootstrap.service', 400) ?? '';
    await until('the founder etcd to answer healthy', async () => (await get(health))?.includes('"health":"true"'), {
      timeoutMs: 600_000,
      intervalMs: 100,
      context: agentLog,
    });
    const sampler = sampleEtcdHealth(health);
    // Joined: the swarm exists and the controller recorded its endpoints (reported by the agent).
    const kv = EtcdManagementKv.forController(client, PREFIX, CLUSTER);
    await until('the founder to report its swarm', async () => (await kv.readEndpoints())?.swarmManagers.length === 1, {
      timeoutMs: 300_000,
      intervalMs: 500,
      context: agentLog,
    });
    // dockerd restarted to serve the certificate the agent was issued.
    const served = await until('dockerd to serve the issued certificate on 2376', () => servedDockerCert(), {
      timeoutMs: 300_000,
      intervalMs: 500,
      context: () => node?.journal('docker.service') ?? '',
    });
    expect(new X509Certificate(served).subjectAltName).toBe(`IP Address:${address}`);
    // A few seconds more in the steady state, then the verdict.
    await new Promise((r) => setTimeout(r, 5_000));
    const report = sampler.stop();
    console.log(`ec2 founder etcd: ${JSON.stringify(report)}`);
    expect(report.samples).toBeGreaterThan(20);
    // An etcd stopped with dockerd was down 16-38 s; a loaded machine may delay one answer.
    expect(report.longestGapMs).toBeLessThan(5_000);
    // The agent started its etcd member once: after the restart, never before it.
    const log = agentLog();
    expect(log).toMatch(/dockerd restarts to serve the TLS certificate just written/);
    expect(log.match(/Starting etcd member/g)?.length).toBe(1);
  }, 900_000);
});
