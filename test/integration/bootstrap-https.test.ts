// The bootstrap exchange over HTTPS with a private CA, with real peers: `swarmkeeper run`
// serving TLS (a throwaway openssl CA) with --bootstrap-ca-file, a real management etcd,
// the EC2 provider launching into moto on a loopback subnet. The user-data the node would
// boot from is read back from moto; the agent's exchange (the code `node bootstrap` runs)
// then uses the CA file and the token from it, from the instance's private address. A node
// that trusts another CA is refused before anything is sent: its token stays good.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { exchangeKvOf, type BootstrapFlags } from '../../src/cli/commands/node.ts';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import { makeTestCertificates, type TestCertificates } from '../support/certs.ts';
import { motoEc2Spec, TEST_REGION, useTestCredentials } from '../support/ec2-fixtures.ts';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { joinedLines, launchedCloudConfig, loopbackSubnet, type WrittenFile } from '../support/moto-loopback.ts';
import { startSwarmkeeperRun, type RunProcess } from '../support/swarmkeeper-run.ts';
import { until } from '../support/until.ts';

useTestCredentials();

const CLI = new URL('../../bin/swarmkeeper.js', import.meta.url).pathname;
const PREFIX = '/sk-bootstrap-https';
const CLUSTER = 'tlsboot';

let etcd: EtcdTestCluster;
let moto: MotoServer;
let run: RunProcess | undefined;
let ec2: EC2Client;
let address = '';
let dir = '';
let certs: TestCertificates;
let otherCa = '';

beforeAll(async () => {
  [etcd, moto] = await Promise.all([startEtcdCluster({ size: 1 }), startMoto()]);
  dir = mkdtempSync(join(tmpdir(), 'sk-bootstrap-https-'));
  address = reserveLoopback({ block: 236 });
  certs = makeTestCertificates(dir, [address]);
  otherCa = makeTestCertificates(dir, [address], { name: 'other' }).caFile;
  ec2 = new EC2Client({ region: TEST_REGION, endpoint: moto.endpoint });
  // A loopback subnet: the instance's private address is one this machine can send from.
  const net = await loopbackSubnet(ec2, 235);
  const base = await motoEc2Spec(moto.endpoint);
  const spec = {
    apiVersion: 'swarmkeeper.dev/v1alpha1',
    kind: 'SwarmCluster',
    metadata: { name: CLUSTER },
    spec: {
      managers: { count: 1 },
      workers: { count: 0 },
      provider: {
        ec2: {
          ...base,
          subnetIds: [net.subnetId],
          securityGroupIds: [net.securityGroupId],
          agentImage: 'registry.example.com/swarmkeeper:0.1.0',
        },
      },
    },
  };
  writeFileSync(join(dir, 'cluster.yaml'), stringify(spec));
  execFileSync(
    process.execPath,
    [CLI, '--etcd-endpoints', etcd.endpoints.join(','), '--prefix', PREFIX, 'apply', '-f', join(dir, 'cluster.yaml')],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const url = `https://${address}:8443`;
  run = await startSwarmkeeperRun({
    etcdEndpoints: etcd.endpoints,
    prefix: PREFIX,
    listen: `${address}:8443`,
    args: ['--identity', 'bootstrap-https-test', '--bootstrap-url', url],
    env: {
      SWARMKEEPER_TLS_CERT_FILE: certs.serverCertFile,
      SWARMKEEPER_TLS_KEY_FILE: certs.serverKeyFile,
      SWARMKEEPER_BOOTSTRAP_CA_FILE: certs.caFile,
      // No dockerd for this cluster's managers: the swarm stays unobserved, launches go on.
      SWARMKEEPER_DOCKER_SOCKET: join(dir, 'no-docker.sock'),
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

/** The launched instance and the cloud-config it was given, as moto keeps it. */
async function launchedNode(): Promise<{ id: string; address: string; files: Map<string, WrittenFile>; bootstrapUnit: string }> {
  const inst = await until(
    'the controller to launch the manager into moto',
    async () =>
      (await ec2.send(new DescribeInstancesCommand({}))).Reservations?.flatMap((r) => r.Instances ?? []).find(
        (i) => i.State?.Name === 'running',
      ),
    { timeoutMs: 120_000, intervalMs: 500, context: () => run?.stderr().slice(-3000) ?? '' },
  );
  const { files, units } = await launchedCloudConfig(ec2, inst.InstanceId as string);
  return {
    id: inst.InstanceId as string,
    address: inst.PrivateIpAddress as string,
    files,
    bootstrapUnit: units.get('swarmkeeper-bootstrap.service') ?? '',
  };
}

describe('the bootstrap exchange with a private CA', () => {
  it("renders the controller's CA into the user-data; the agent trusts it, and refuses a controller its CA did not sign", async () => {
    const node = await launchedNode();
    expect(node.address).toMatch(/^127\.235\./);
    const caFile = node.files.get('/etc/swarmkeeper/bootstrap-ca.pem');
    expect(caFile?.permissions).toBe('0644');
    expect(caFile?.content.trim()).toBe(readFileSync(certs.caFile, 'utf8').trim());
    expect(joinedLines(node.bootstrapUnit)).toContain(
      `--bootstrap-url https://${address}:8443 --bootstrap-token-file /etc/swarmkeeper/bootstrap-token --bootstrap-ca-file /etc/swarmkeeper/bootstrap-ca.pem`,
    );

    // The node's /etc/swarmkeeper, as the user-data writes it.
    const etc = join(dir, 'etc');
    execFileSync('mkdir', ['-p', etc]);
    writeFileSync(join(etc, 'bootstrap-token'), node.files.get('/etc/swarmkeeper/bootstrap-token')?.content ?? '', { mode: 0o600 });
    writeFileSync(join(etc, 'bootstrap-ca.pem'), caFile?.content ?? '');
    const agent = (caPath: string, dataDir: string) => {
      const flags: BootstrapFlags = {
        role: 'manager',
        cluster: CLUSTER,
        instanceId: node.id,
        address: node.address,
        dockerHost: 'unix:///nonexistent/docker.sock',
        dataDir,
        bootstrapUrl: `https://${address}:8443`,
        bootstrapTokenFile: join(etc, 'bootstrap-token'),
        bootstrapCaFile: caPath,
      };
      execFileSync('mkdir', ['-p', dataDir]);
      return exchangeKvOf(
        flags,
        {
          cluster: CLUSTER,
          role: 'manager',
          managementEtcd: { endpoints: [], prefix: PREFIX },
          bootstrapUrl: flags.bootstrapUrl as string,
        },
        { instanceId: node.id, address: node.address, dataDir },
      );
    };

    // Another CA: refused in the TLS handshake, with the file named and OpenSSL's reason.
    const wrong = await agent(otherCa, join(dir, 'data-wrong'));
    await expect(wrong.claimInit()).rejects.toThrow(
      new RegExp(
        `^the controller at https://${address.replaceAll('.', '\\.')}:8443 presented a certificate that the CA in ${otherCa.replaceAll('.', '\\.')} does not accept \\(UNABLE_TO_VERIFY_LEAF_SIGNATURE: `,
      ),
    );
    await wrong.close();

    // The CA from the user-data: the exchange goes through (the token was not spent above),
    // and the first manager is told to initialise the swarm.
    const trusted = await agent(join(etc, 'bootstrap-ca.pem'), join(dir, 'data'));
    expect(await trusted.claimInit()).toBe(true);
    // The endpoints poll goes to the same URL with the same trust (none published yet: 404).
    await expect(trusted.readEndpoints()).resolves.toBeUndefined();
    await trusted.close();
    const log = run?.stderr() ?? '';
    expect(log).not.toContain(node.files.get('/etc/swarmkeeper/bootstrap-token')?.content.trim());
  });

  it('run refuses a CA file for a plain http:// bootstrap URL, and a file holding a private key, as usage errors', () => {
    const sk = (args: string[]): { code: number; stderr: string } => {
      try {
        execFileSync(
          process.execPath,
          [CLI, '--etcd-endpoints', etcd.endpoints.join(','), '--prefix', PREFIX, 'run', '--http-listen', `${address}:0`, ...args],
          {
            stdio: ['ignore', 'ignore', 'pipe'],
            env: { ...process.env, SWARMKEEPER_WEBHOOK_TOKEN: '' },
            timeout: 60_000,
          },
        );
        return { code: 0, stderr: '' };
      } catch (err) {
        const e = err as { status: number; stderr: Buffer };
        return { code: e.status, stderr: e.stderr.toString() };
      }
    };
    const http = sk(['--bootstrap-url', `http://${address}:8080`, '--bootstrap-ca-file', certs.caFile]);
    expect(http.code).toBe(2);
    expect(http.stderr).toContain('--bootstrap-ca-file needs an https:// --bootstrap-url');
    writeFileSync(join(dir, 'with-key.pem'), `${readFileSync(certs.caFile, 'utf8')}${readFileSync(certs.keyFile, 'utf8')}`);
    const withKey = sk(['--bootstrap-url', `https://${address}:8443`, '--bootstrap-ca-file', join(dir, 'with-key.pem')]);
    expect(withKey.code).toBe(2);
    expect(withKey.stderr).toContain('the file holds a private key');
    expect(withKey.stderr).not.toContain(readFileSync(certs.keyFile, 'utf8').split('\n')[1]);
  });
});
