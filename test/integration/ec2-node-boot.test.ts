// A node booted as Flatcar boots an EC2 instance, from exactly the user-data the EC2
// provider sent: RunInstances into moto (a loopback subnet, so the instance's private
// address is a loopback address), the user-data read back from moto, applied by the
// real Ignition, systemd as PID 1 (systemd-nspawn) running the units as written. The
// metadata script asks an IMDSv2 stand-in on loopback instead of 169.254.169.254: the
// one substitution. The agent image is not needed here (test/e2e/ec2-end-to-end.test.ts
// runs it): a busybox image stands at the agent image's reference in the registry on
// loopback, and the bootstrap unit is seen to pull it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateSubnetCommand, CreateVpcCommand, DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { startTestRegistry, type TestRegistry } from '../support/registry.ts';
import { aLaunchRequest, anEc2Spec, motoEc2Spec, TEST_REGION, useTestCredentials } from '../support/ec2-fixtures.ts';
import { runEc2NodeFleet, type Ec2NodeFleet } from '../support/ec2-node-fleet.ts';
import { until } from '../support/until.ts';
import { Ec2Provider } from '../../src/providers/ec2/ec2-provider.ts';
import type { ResolvedSpec } from '../../src/spec/defaults.ts';

useTestCredentials();

let moto: MotoServer;
let registry: TestRegistry;
let fleet: Ec2NodeFleet | undefined;
let provider: Ec2Provider;
let spec: ResolvedSpec;

beforeAll(async () => {
  [moto, registry] = await Promise.all([startMoto(), startTestRegistry()]);
  const c = new EC2Client({ region: TEST_REGION, endpoint: moto.endpoint });
  const vpc = (await c.send(new CreateVpcCommand({ CidrBlock: '127.234.0.0/16' }))).Vpc;
  const third = process.pid % 250;
  const subnet = (
    await c.send(new CreateSubnetCommand({ VpcId: vpc?.VpcId, CidrBlock: `127.234.${third}.0/24`, AvailabilityZone: `${TEST_REGION}a` }))
  ).Subnet;
  const sg = ((await c.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc?.VpcId as string] }] })))
    .SecurityGroups ?? [])[0];
  c.destroy();
  const base = await motoEc2Spec(moto.endpoint);
  spec = anEc2Spec(
    { ...base, subnetIds: [subnet?.SubnetId as string], securityGroupIds: [sg?.GroupId as string], userDataFormat: 'ignition' },
    {},
    'boot',
  );
  provider = new Ec2Provider({ ec2: spec.provider.ec2 ?? (undefined as never) });
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  await provider?.close();
  await Promise.allSettled([moto?.stop(), registry?.stop()]);
}, 120_000);

describe('a node booted from its EC2 user-data under systemd', () => {
  it('runs the metadata script against IMDSv2, docker with the drop-in flags, and the bootstrap unit as written', async () => {
    const agentImage = await registry.pushBusybox('swarmkeeper', 'boot-test');
    const [inst] = await provider.launch(
      aLaunchRequest(spec, {
        role: 'manager',
        agent: {
          cluster: 'boot',
          role: 'manager',
          managementEtcd: { endpoints: [], prefix: '/sk' },
          bootstrapUrl: 'http://127.0.0.1:9',
          bootstrapToken: 'skb1.boottesttoken.0123456789abcdef0123456789abcdef',
          agentImage,
        },
      }),
    );
    if (!inst) throw new Error('launch returned nothing');
    expect(inst.address).toMatch(/^127\.234\./);
    fleet = runEc2NodeFleet({ endpoint: moto.endpoint, region: TEST_REGION, cluster: 'boot' });
    const node = await until(
      'the node to boot',
      () => (fleet?.errors.length ? Promise.reject(new Error(fleet.errors.join('; '))) : fleet?.nodes.get(inst.id)),
      { timeoutMs: 120_000 },
    );

    // docker runs with the metadata unit's DOCKER_OPTS: its metrics listen on the private address.
    const metrics = await until(
      "docker's metrics on the instance's private address",
      async () => {
        const res = await fetch(`http://${inst.address}:9323/metrics`);
        return res.ok ? res.text() : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 500, context: () => node.node.journal('docker.service') },
    );
    expect(metrics).toContain('engine_daemon_engine_info');
    // The metadata script took a session token first, then read with it.
    expect(node.node.imds.requests.get('/latest/api/token')).toBeGreaterThan(0);
    expect(node.node.imds.requests.get('/latest/meta-data/instance-id')).toBeGreaterThan(0);
    expect(node.node.imds.requests.get('/latest/meta-data/local-ipv4')).toBeGreaterThan(0);
    // The bootstrap unit pulls the pinned agent image from the registry the spec names.
    await until(
      'the bootstrap unit to pull the agent image',
      () => node.node.journal('swarmkeeper-bootstrap.service', 80).includes(`Downloaded newer image for ${agentImage}`),
      {
        timeoutMs: 120_000,
        context: () => node.node.journal('swarmkeeper-bootstrap.service', 40),
      },
    );

    // Terminated in EC2: the node is killed and removed.
    await provider.terminate('boot', inst.id);
    await until('the node to be removed', () => !fleet?.nodes.has(inst.id), { timeoutMs: 60_000 });
  }, 600_000);
});
