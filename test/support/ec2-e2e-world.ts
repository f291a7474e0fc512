// Everything the EC2 end-to-end test runs, started once: a management etcd with TLS and
// authentication, moto with loopback subnets (127.233.<n>.0/24, so every instance's
// private address is a loopback address), a registry on loopback holding the
// management image, a management host (a real dockerd) that runs the controller from
// that image with `docker run`, and the node fleet that boots every instance moto
// reports from its own user-data. The bootstrap exchange is HTTPS with a private CA
// (openssl), as users deploy it: the controller serves it with a certificate that CA
// signed, the user-data carries the CA (--bootstrap-ca-file) and the nodes trust only it;
// the URL's host is a forwarder that stands in for the name users point at their
// controllers (tcp-forwarder.ts). stop() undoes all of it, also after a half start.
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { CreateSubnetCommand, CreateVpcCommand, DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { Etcd3 } from 'etcd3';
import { startEtcdCluster, type EtcdTestCluster } from './etcd.ts';
import { startMoto, type MotoServer } from './moto.ts';
import { startTestRegistry, type TestRegistry } from './registry.ts';
import { startSwarm, type TestSwarm } from './dockerd.ts';
import type { Ec2NodeFleet } from './ec2-node-fleet.ts';
import { motoAmazonImageId, TEST_REGION } from './ec2-fixtures.ts';
import { loadOrCreateDockerCa } from '../../src/providers/ec2/docker-ca.ts';
import { DOCKER_CA_SECRET, etcdCreateOnceSecret } from '../../src/store/create-once-secret.ts';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import { makeTestCertificates } from './certs.ts';
import { httpsGet } from './https-get.ts';
import { startTcpForwarder, type TcpForwarder } from './tcp-forwarder.ts';
import { until } from './until.ts';
import type { Ec2ProviderSpec } from '../../src/spec/schema.ts';

const run = promisify(execFile);

/** Second octet of the test's subnets: 127.233.<n>.0/24. */
export const SUBNET_BLOCK = 233;
const ROOT_PASSWORD = 'e2e-Root-Pass-42';

export interface E2eWorld {
  readonly mgmt: EtcdTestCluster;
  readonly client: Etcd3;
  readonly prefix: string;
  readonly moto: MotoServer;
  readonly registry: TestRegistry;
  readonly host: TestSwarm;
  readonly ec2: Ec2ProviderSpec;
  readonly certDir: string;
  /** The controller's client certificate for the managers' docker API. */
  readonly dockerTls: { readonly ca: string; readonly cert: string; readonly key: string };
  fleet?: Ec2NodeFleet;
  controller?: ControllerContainer;
  bootstrap?: BootstrapFront;
  /** `docker` against the management host: its stdout. */
  docker(args: readonly string[]): Promise<string>;
  /** Same, stdout and stderr together (logs). */
  dockerOutput(args: readonly string[]): Promise<string>;
  stop(): Promise<void>;
}

export async function startE2eWorld(cluster: string, prefix: string, opts: { secureEtcd?: boolean } = {}): Promise<E2eWorld> {
  const secure = opts.secureEtcd ?? true;
  const certDir = mkdtempSync('/tmp/sk-e2e-');
  chmodSync(certDir, 0o755);
  const started: { stop(): Promise<void> }[] = [];
  const keep = <T extends { stop(): Promise<void> }>(x: T): T => {
    started.push(x);
    return x;
  };
  try {
    const [mgmt, moto, registry, host] = await Promise.all([
      startEtcdCluster(secure ? { size: 1, tls: true, auth: { rootPassword: ROOT_PASSWORD } } : { size: 1 }).then(keep),
      startMoto().then(keep),
      startTestRegistry().then(keep),
      startSwarm({ managers: 1, workers: 0, form: false, idPrefix: 'mgmt-host' }).then((s) => keep({ ...s, stop: () => s.cleanup() })),
    ]);
    const client = mgmt.client();
    const ec2 = await loopbackSubnets(moto.endpoint);
    const ca = await loadOrCreateDockerCa(etcdCreateOnceSecret(client, prefix, cluster, DOCKER_CA_SECRET), cluster);
    const clientCert = await ca.issueClientCert('swarmkeeper-controller');
    const dockerTls = { ca: join(certDir, 'docker-ca.pem'), cert: join(certDir, 'docker-cert.pem'), key: join(certDir, 'docker-key.pem') };
    writeFileSync(dockerTls.ca, ca.caPem);
    writeFileSync(dockerTls.cert, clientCert.cert);
    // Readable by the controller's unprivileged user inside its container: a test key.
    writeFileSync(dockerTls.key, clientCert.key, { mode: 0o644 });
    const socket = host.nodes[0]?.process.socketPath ?? '';
    const world: E2eWorld = {
      mgmt,
      client,
      prefix,
      moto,
      registry,
      host,
      ec2,
      certDir,
      dockerTls,
      async docker(args) {
        return (await run('docker', ['-H', `unix://${socket}`, ...args], { maxBuffer: 64 * 1024 * 1024 })).stdout;
      },
      async dockerOutput(args) {
        const out = await run('docker', ['-H', `unix://${socket}`, ...args], { maxBuffer: 64 * 1024 * 1024 });
        return out.stdout + out.stderr;
      },
      async stop() {
        // The controller's whole log outlives the run, for reading after a failure.
        const logs = await world.dockerOutput(['logs', 'swarmkeeper-controller']).catch(() => '');
        if (logs) writeFileSync(`${tmpdir()}/sk-e2e-controller-${process.pid}.log`, logs);
        await world.docker(['rm', '-f', 'swarmkeeper-controller']).catch(() => undefined);
        world.controller?.release();
        await world.bootstrap?.forwarder.stop();
        await world.fleet?.stop();
        client.close();
        await Promise.allSettled(started.map((s) => s.stop()));
        rmSync(certDir, { recursive: true, force: true });
      },
    };
    return world;
  } catch (err) {
    await Promise.allSettled(started.map((s) => s.stop()));
    rmSync(certDir, { recursive: true, force: true });
    throw err;
  }
}

/** A VPC with two loopback subnets in two zones, so instances get 127.233.x.y addresses. */
async function loopbackSubnets(endpoint: string): Promise<Ec2ProviderSpec> {
  const c = new EC2Client({ region: TEST_REGION, endpoint });
  try {
    const third = (process.pid % 100) * 2;
    const vpc = (await c.send(new CreateVpcCommand({ CidrBlock: `127.${SUBNET_BLOCK}.0.0/16` }))).Vpc;
    const subnets = [];
    for (const [i, zone] of [`${TEST_REGION}a`, `${TEST_REGION}b`].entries()) {
      const s = await c.send(
        new CreateSubnetCommand({ VpcId: vpc?.VpcId, CidrBlock: `127.${SUBNET_BLOCK}.${third + i}.0/24`, AvailabilityZone: zone }),
      );
      subnets.push(s.Subnet?.SubnetId as string);
    }
    const sgs =
      (await c.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc?.VpcId as string] }] }))).SecurityGroups ??
      [];
    return {
      region: TEST_REGION,
      endpoint,
      imageId: await motoAmazonImageId(c),
      subnetIds: subnets.sort(),
      securityGroupIds: sgs.slice(0, 1).map((g) => g.GroupId as string),
      userDataFormat: 'ignition',
    };
  } finally {
    c.destroy();
  }
}

export interface ControllerContainer {
  /** Where it serves (HTTPS, the bootstrap CA's certificate), directly. */
  readonly baseUrl: string;
  logs(): Promise<string>;
  /** Whether the container is still running (a controller that exits fails the test at once). */
  running(): Promise<boolean>;
  /** Gives its loopback address back to the pool once the container is gone. */
  release(): void;
}

/** The bootstrap URL nodes get and what its HTTPS rests on: a private CA and a certificate it signed. */
export interface BootstrapFront {
  /** https://<forwarder>:8443, rendered into every node's user-data. */
  readonly url: string;
  readonly forwarder: TcpForwarder;
  /** The CA nodes trust (no key: it lands in user-data). */
  readonly caFile: string;
  /** The controllers' certificate (SANs: the forwarder's and the outside controller's address) and key. */
  readonly certFile: string;
  readonly keyFile: string;
}

/** Port of the bootstrap exchange, as the shipped stack serves it. */
export const BOOTSTRAP_PORT = 8443;

/**
 * `docker run` of the management image on the management host: `swarmkeeper run` with
 * the bootstrap exchange on over HTTPS (--bootstrap-ca-file), the management etcd over
 * TLS with a password, and the managers' docker API over mutual TLS. Host network: it
 * serves on a loopback address, behind the bootstrap URL's forwarder.
 */
export async function runControllerContainer(world: E2eWorld, image: string, agentImage: string): Promise<ControllerContainer> {
  const address = reserveLoopback({ block: SUBNET_BLOCK - 1 });
  const baseUrl = `https://${address}:${BOOTSTRAP_PORT}`;
  let forwarder: TcpForwarder | undefined;
  try {
    forwarder = await startTcpForwarder(SUBNET_BLOCK - 1, BOOTSTRAP_PORT, [{ host: address, port: BOOTSTRAP_PORT }]);
    const made = makeTestCertificates(world.certDir, [forwarder.address, address], { name: 'bootstrap' });
    // The controller runs as the image's unprivileged user: it gets copies of the files it
    // may read, in the directory mounted into its container.
    const served = copyReadable(world.certDir, 'controller', { cert: made.serverCertFile, key: made.serverKeyFile });
    world.bootstrap = {
      url: `https://${forwarder.address}:${BOOTSTRAP_PORT}`,
      forwarder,
      caFile: made.caFile,
      certFile: served.cert,
      keyFile: served.key,
    };
    await startControllerContainer(world, image, agentImage, address, world.bootstrap);
  } catch (err) {
    await forwarder?.stop();
    world.bootstrap = undefined;
    releaseLoopback(address);
    throw err;
  }
  const caFile = world.bootstrap.caFile;
  const controller: ControllerContainer = {
    baseUrl,
    logs: async () => world.dockerOutput(['logs', '--tail', '400', 'swarmkeeper-controller']).catch((e: unknown) => String(e)),
    running: async () => (await world.docker(['inspect', '-f', '{{.State.Running}}', 'swarmkeeper-controller'])).trim() === 'true',
    release: () => releaseLoopback(address),
  };
  world.controller = controller;
  const state = await until(
    'the controller container to serve /healthz over HTTPS',
    async () =>
      (await controller.running())
        ? (await httpsGet(`${baseUrl}/healthz`, caFile).catch(() => undefined))?.status === 200 && 'serving'
        : 'exited',
    { timeoutMs: 120_000, intervalMs: 500 },
  );
  if (state === 'exited') throw new Error(`the controller container exited:\n${await controller.logs()}`);
  return controller;
}

async function startControllerContainer(
  world: E2eWorld,
  image: string,
  agentImage: string,
  address: string,
  front: BootstrapFront,
): Promise<void> {
  const auth = world.mgmt.auth;
  const tls = world.mgmt.tls
    ? copyReadable(world.certDir, 'etcd', { ca: world.mgmt.tls.caFile, cert: world.mgmt.tls.certFile, key: world.mgmt.tls.keyFile })
    : undefined;
  const env = {
    SWARMKEEPER_ETCD_ENDPOINTS: world.mgmt.endpoints.join(','),
    SWARMKEEPER_PREFIX: world.prefix,
    ...(tls ? { SWARMKEEPER_ETCD_CACERT: tls.ca, SWARMKEEPER_ETCD_CERT: tls.cert, SWARMKEEPER_ETCD_KEY: tls.key } : {}),
    ...(auth ? { SWARMKEEPER_ETCD_USERNAME: auth.username, SWARMKEEPER_ETCD_PASSWORD: auth.password } : {}),
    SWARMKEEPER_DOCKER_TLS_CA: world.dockerTls.ca,
    SWARMKEEPER_DOCKER_TLS_CERT: world.dockerTls.cert,
    SWARMKEEPER_DOCKER_TLS_KEY: world.dockerTls.key,
    SWARMKEEPER_TLS_CERT_FILE: front.certFile,
    SWARMKEEPER_TLS_KEY_FILE: front.keyFile,
    SWARMKEEPER_BOOTSTRAP_CA_FILE: front.caFile,
    // moto takes any credentials; nothing may look further (no instance metadata, no files).
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const envFile = join(world.certDir, 'controller.env');
  writeFileSync(
    envFile,
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
    { mode: 0o600 },
  );
  await world.docker([
    'run',
    '-d',
    '--name',
    'swarmkeeper-controller',
    '--net=host',
    '--env-file',
    envFile,
    '-v',
    `${world.certDir}:${world.certDir}:ro`,
    image,
    'run',
    '--http-listen',
    `${address}:${BOOTSTRAP_PORT}`,
    '--bootstrap-url',
    front.url,
    '--agent-image',
    agentImage,
    '--resync-seconds',
    '5',
  ]);
}

/** Copies PEM files into `dir` as `<name>-<kind>.pem`, readable by any user (test keys only). */
function copyReadable<K extends string>(dir: string, name: string, files: Record<K, string>): Record<K, string> {
  const out = {} as Record<K, string>;
  for (const [kind, from] of Object.entries(files) as [K, string][]) {
    const to = join(dir, `${name}-${kind}.pem`);
    copyFileSync(from, to);
    chmodSync(to, 0o644);
    out[kind] = to;
  }
  return out;
}
