// The self-hosted controller keeps giving new managers docker TLS certificates. A
// `swarmkeeper run` configured as manifests/swarm/stack.yml configures its replicas (the
// stack file's environment, read here: no SWARMKEEPER_DOCKER_TLS_* settings, the docker
// socket) launches the first manager of two ec2 clusters into moto: `tlsd`, whose docker CA
// record a controller with docker TLS created (as the outside controller of the bootstrap
// order does at its first launch), and `plain`, which never used docker TLS. The
// user-data is read back from moto; the agent's exchange (the code `node bootstrap` runs)
// then goes over HTTPS (a throwaway openssl CA) from the instance's private address. The
// `tlsd` manager gets a certificate for its address signed by its cluster's CA (openssl
// verifies it); `plain` gets no TLS and no CA is made for it. Real peers: etcd, moto,
// the controller's HTTPS server on loopback. The management etcd is plain here (its TLS
// and password are swarm-stack.test.ts's): the stack's SWARMKEEPER_ETCD_* are left out.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { exchangeKvOf, type BootstrapFlags } from '../../src/cli/commands/node.ts';
import { clusterDockerTls } from '../../src/controller/cluster-docker-tls.ts';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import { etcdDockerCaSecrets } from '../../src/store/create-once-secret.ts';
import { makeTestCertificates, type TestCertificates } from '../support/certs.ts';
import { motoEc2Spec, TEST_REGION, useTestCredentials } from '../support/ec2-fixtures.ts';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { joinedLines, launchedCloudConfig, loopbackSubnet, type WrittenFile } from '../support/moto-loopback.ts';
import { startSwarmkeeperRun, type RunProcess } from '../support/swarmkeeper-run.ts';
import { until } from '../support/until.ts';

useTestCredentials();

const CLI = new URL('../../bin/swarmkeeper.js', import.meta.url).pathname;
const STACK = new URL('../../manifests/swarm/stack.yml', import.meta.url).pathname;
const TLS_CLUSTER = 'tlsd';
const PLAIN_CLUSTER = 'plain';

let etcd: EtcdTestCluster;
let moto: MotoServer;
let run: RunProcess | undefined;
let ec2: EC2Client;
let address = '';
let dir = '';
let prefix = '';
let certs: TestCertificates;

/** The controller's environment as the shipped stack sets it (raw values). */
function stackEnvironmentAsShipped(): Record<string, string> {
  const stack = parse(readFileSync(STACK, 'utf8')) as { services: { controller: { environment: Record<string, string> } } };
  return stack.services.controller.environment;
}

/** The shipped stack's environment for the controller, its secrets and variables given test values. */
function stackEnvironment(values: { secrets: Record<string, string>; variables: Record<string, string> }): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, raw] of Object.entries(stackEnvironmentAsShipped())) {
    if (name.startsWith('SWARMKEEPER_ETCD_')) continue;
    const secret = /^\/run\/secrets\/(.+)$/.exec(raw)?.[1];
    const variable = /^\$\{([A-Z_]+)(?::-(.*))?(?::\?.*)?\}$/.exec(raw);
    if (secret) {
      const file = values.secrets[secret];
      if (!file) throw new Error(`the stack reads secret ${secret}, which this test does not provide`);
      env[name] = file;
    } else if (variable?.[1]) {
      const value = values.variables[variable[1]] ?? variable[2];
      if (value === undefined) throw new Error(`the stack requires variable ${variable[1]}, which this test does not set`);
      env[name] = value;
    } else env[name] = raw;
  }
  return env;
}

beforeAll(async () => {
  [etcd, moto] = await Promise.all([startEtcdCluster({ size: 1 }), startMoto()]);
  dir = mkdtempSync(join(tmpdir(), 'sk-stack-docker-tls-'));
  address = reserveLoopback({ block: 241 });
  certs = makeTestCertificates(dir, [address]);
  ec2 = new EC2Client({ region: TEST_REGION, endpoint: moto.endpoint });
  // A loopback subnet: the instances' private addresses are ones this machine can send from.
  const net = await loopbackSubnet(ec2, 237);
  const base = await motoEc2Spec(moto.endpoint);
  const env = stackEnvironment({
    secrets: {
      swarmkeeper_tls_cert: certs.serverCertFile,
      swarmkeeper_tls_key: certs.serverKeyFile,
      swarmkeeper_bootstrap_ca: certs.caFile,
    },
    variables: { SWARMKEEPER_BOOTSTRAP_URL: `https://${address}:8443`, SWARMKEEPER_IMAGE: 'registry.example.com/swarmkeeper:0.1.0' },
  });
  prefix = env.SWARMKEEPER_PREFIX ?? '';
  if (!prefix) throw new Error('the stack sets no SWARMKEEPER_PREFIX');

  // What the outside controller (SWARMKEEPER_DOCKER_TLS_* set) did at its first launch for
  // `tlsd`: created the cluster's docker CA record. `plain` never had a TLS controller.
  const client = etcd.client();
  try {
    const outside = clusterDockerTls({
      secretOf: etcdDockerCaSecrets(client, prefix),
      controllerUsesTls: true,
    });
    expect(await outside.usesDockerTls(TLS_CLUSTER)).toBe(true);
  } finally {
    client.close();
  }
  for (const name of [TLS_CLUSTER, PLAIN_CLUSTER]) {
    const spec = {
      apiVersion: 'swarmkeeper.dev/v1alpha1',
      kind: 'SwarmCluster',
      metadata: { name },
      spec: {
        managers: { count: 1 },
        workers: { count: 0 },
        provider: { ec2: { ...base, subnetIds: [net.subnetId], securityGroupIds: [net.securityGroupId] } },
      },
    };
    writeFileSync(join(dir, `${name}.yaml`), stringify(spec));
    execFileSync(
      process.execPath,
      [CLI, '--etcd-endpoints', etcd.endpoints.join(','), '--prefix', prefix, 'apply', '-f', join(dir, `${name}.yaml`)],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
  }
  run = await startSwarmkeeperRun({
    etcdEndpoints: etcd.endpoints,
    prefix,
    listen: `${address}:8443`,
    args: ['--identity', 'stack-replica-test'],
    env: {
      ...env,
      // The replica's docker API is its manager's socket; no dockerd runs for these
      // clusters' managers, so their swarm stays unobserved and launches go on.
      SWARMKEEPER_DOCKER_SOCKET: join(dir, 'no-docker.sock'),
      SWARMKEEPER_DOCKER_TLS_CA: '',
      SWARMKEEPER_DOCKER_TLS_CERT: '',
      SWARMKEEPER_DOCKER_TLS_KEY: '',
      SWARMKEEPER_WEBHOOK_TOKEN: '',
    },
  });
}, 180_000);

afterAll(async () => {
  run?.stop();
  ec2?.destroy();
  await Promise.allSettled([etcd?.stop(), moto?.stop()]);
  if (address) releaseLoopback(address);
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

interface LaunchedNode {
  readonly id: string;
  readonly address: string;
  readonly files: Map<string, WrittenFile>;
  readonly units: Map<string, string>;
}

/** The cluster's launched manager and the cloud-config it was given, as moto keeps it. */
async function launchedManager(cluster: string): Promise<LaunchedNode> {
  const inst = await until(
    `the controller to launch the manager of ${cluster} into moto`,
    async () =>
      (
        await ec2.send(
          new DescribeInstancesCommand({
            Filters: [
              { Name: 'tag:swarmkeeper.dev/cluster', Values: [cluster] },
              { Name: 'instance-state-name', Values: ['running'] },
            ],
          }),
        )
      ).Reservations?.flatMap((r) => r.Instances ?? [])[0],
    { timeoutMs: 120_000, intervalMs: 500, context: () => run?.stderr().slice(-3000) ?? '' },
  );
  return {
    id: inst.InstanceId as string,
    address: inst.PrivateIpAddress as string,
    ...(await launchedCloudConfig(ec2, inst.InstanceId as string)),
  };
}

/** The agent's exchange from the node's address, with the node's /etc/swarmkeeper as its user-data writes it. */
async function exchangeAsAgent(cluster: string, node: LaunchedNode, dockerTlsDir: string): Promise<void> {
  const etc = join(dir, cluster, 'etc');
  const data = join(dir, cluster, 'data');
  mkdirSync(etc, { recursive: true });
  mkdirSync(data, { recursive: true });
  const file = (path: string): string => node.files.get(path)?.content ?? '';
  writeFileSync(join(etc, 'bootstrap-token'), file('/etc/swarmkeeper/bootstrap-token'), { mode: 0o600 });
  writeFileSync(join(etc, 'bootstrap-ca.pem'), file('/etc/swarmkeeper/bootstrap-ca.pem'));
  const flags: BootstrapFlags = {
    role: 'manager',
    cluster,
    instanceId: node.id,
    address: node.address,
    dockerHost: 'unix:///nonexistent/docker.sock',
    dataDir: data,
    bootstrapUrl: `https://${address}:8443`,
    bootstrapTokenFile: join(etc, 'bootstrap-token'),
    bootstrapCaFile: join(etc, 'bootstrap-ca.pem'),
    dockerTlsDir,
  };
  const kv = await exchangeKvOf(
    flags,
    { cluster, role: 'manager', managementEtcd: { endpoints: [], prefix }, bootstrapUrl: flags.bootstrapUrl as string },
    { instanceId: node.id, address: node.address, dataDir: data },
  );
  try {
    // The first manager of its cluster: told to initialise, the answer applied on the node.
    expect(await kv.claimInit()).toBe(true);
  } finally {
    await kv.close();
  }
}

const openssl = (args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('a controller configured as the shipped stack', () => {
  it('sets no docker TLS of its own', () => {
    expect(Object.keys(stackEnvironmentAsShipped()).filter((k) => k.startsWith('SWARMKEEPER_DOCKER'))).toEqual([]);
  });

  it("gives a new manager of a cluster that uses docker TLS a certificate for its address signed by the cluster's CA", async () => {
    const node = await launchedManager(TLS_CLUSTER);
    expect(node.address).toMatch(/^127\.237\./);
    const bootstrapUnit = joinedLines(node.units.get('swarmkeeper-bootstrap.service') ?? '');
    expect(bootstrapUnit).toContain('--docker-tls-dir /etc/swarmkeeper/tls');
    expect(node.units.has('swarmkeeper-docker-tls.path')).toBe(true);

    const tlsDir = join(dir, TLS_CLUSTER, 'tls');
    await exchangeAsAgent(TLS_CLUSTER, node, tlsDir);
    const client = etcd.client();
    let caPem = '';
    try {
      const onSocket = clusterDockerTls({
        secretOf: etcdDockerCaSecrets(client, prefix),
        controllerUsesTls: false,
      });
      caPem = (await onSocket.caOf(TLS_CLUSTER))?.caPem ?? '';
    } finally {
      client.close();
    }
    expect(caPem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(readFileSync(join(tlsDir, 'ca.pem'), 'utf8').trim()).toBe(caPem.trim());
    expect(openssl(['verify', '-CAfile', join(tlsDir, 'ca.pem'), join(tlsDir, 'server.pem')])).toContain(': OK');
    const sans = openssl(['x509', '-in', join(tlsDir, 'server.pem'), '-noout', '-ext', 'subjectAltName,extendedKeyUsage']);
    expect(sans).toContain(`IP Address:${node.address}`);
    expect(sans).toContain('TLS Web Server Authentication');
    // The certificate is for the key the node made; the node got no other key.
    const pub = (args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8' });
    expect(pub(['x509', '-in', join(tlsDir, 'server.pem'), '-noout', '-pubkey'])).toBe(
      pub(['pkey', '-in', join(tlsDir, 'server-key.pem'), '-pubout']),
    );
    const answer = readFileSync(join(dir, TLS_CLUSTER, 'data', 'bootstrap-answer.json'), 'utf8');
    expect(answer).not.toContain('PRIVATE KEY');
    expect(run?.stderr() ?? '').not.toContain('PRIVATE KEY');
  });

  it('gives no docker TLS to a cluster that never used it, and makes it no CA', async () => {
    const node = await launchedManager(PLAIN_CLUSTER);
    expect(joinedLines(node.units.get('swarmkeeper-bootstrap.service') ?? '')).not.toContain('--docker-tls-dir /etc/swarmkeeper/tls');
    expect(node.units.has('swarmkeeper-docker-tls.path')).toBe(false);
    // An agent that asks anyway (user-data rendered by hand with --docker-tls) joins without a certificate.
    const tlsDir = join(dir, PLAIN_CLUSTER, 'tls');
    await exchangeAsAgent(PLAIN_CLUSTER, node, tlsDir);
    expect(existsSync(join(tlsDir, 'server.pem'))).toBe(false);
    const client = etcd.client();
    try {
      expect(await etcdDockerCaSecrets(client, prefix)(PLAIN_CLUSTER).exists()).toBe(false);
    } finally {
      client.close();
    }
    expect(run?.stderr() ?? '').toContain('A manager asked for a docker certificate, but its cluster has no docker CA');
  });
});
