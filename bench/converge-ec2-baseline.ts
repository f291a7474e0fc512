// The hand-scripted baseline of bench/converge-ec2.ts: what an operator would do without
// swarmkeeper on the same kind of node, in the same world. RunInstances into moto of the
// managers (each at a pinned private address, with its docker TLS certificate in its
// user-data) and the workers, booted by the same node fleet (real Ignition, systemd-nspawn,
// the IMDSv2 stand-in) from a user-data that only brings docker up as swarmkeeper's nodes
// do (ec2-baseline-user-data.ts). Then, by script, through each node's own docker socket
// (ec2-node-script.ts): the management image pulled from the loopback registry, as
// swarmkeeper's bootstrap unit pulls it; an etcd member with a static initial cluster on
// every manager (`docker run --net=host` of that image, which has etcd inside); swarm init
// on the first manager, the other managers joined one after the other and the workers in
// parallel; an etcd gateway on every worker. Each node goes as fast as its own boot allows.
// Done when every member and gateway answers a quorum read and the swarm lists every
// node ready, all managers reachable.
import { DescribeSubnetsCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import type { Etcd3 } from 'etcd3';
import type { E2eWorld } from '../test/support/ec2-e2e-world.ts';
import { runEc2NodeFleet, type FleetNode } from '../test/support/ec2-node-fleet.ts';
import { releaseLoopback, reserveSpecificLoopback } from '../src/net/loopback-pool.ts';
import { TAGS, tagSpecifications } from '../src/providers/ec2/ec2-instances.ts';
import type { DockerCa } from '../src/providers/ec2/docker-ca.ts';
import type { Role } from '../src/spec/schema.ts';
import { baselineUserData, managerTlsFiles } from './ec2-baseline-user-data.ts';
import { readNodeJournal, summarisePhase, type PhaseSummary } from './ec2-node-timeline.ts';
import { checkManagerTls, nodeScript, waitEtcdHealthy, waitSwarmReady, type NodeMarks, type NodeScript } from './ec2-node-script.ts';

export interface Ec2BaselineOptions {
  readonly cluster: string;
  readonly managers: number;
  readonly workers: number;
  /** The management image's registry reference (what swarmkeeper's nodes pull). */
  readonly image: string;
  readonly dockerCa: DockerCa;
}

export interface Ec2BaselineResult {
  readonly totalMs: number;
  /** ms from the RunInstances calls; per-node phases as {all, median}. */
  readonly phases: Record<string, number | PhaseSummary | undefined>;
}

interface Launched {
  readonly managerAddresses: readonly string[];
  readonly managerIds: readonly string[];
  readonly workerIds: readonly string[];
}

export async function runEc2Baseline(world: E2eWorld, opts: Ec2BaselineOptions): Promise<Ec2BaselineResult> {
  const ec2 = new EC2Client({ region: world.ec2.region, endpoint: world.ec2.endpoint });
  const fleet = runEc2NodeFleet({ endpoint: world.moto.endpoint, region: world.ec2.region, cluster: opts.cluster });
  // The world's fleet while this side runs: an interrupted bench's world.stop() removes its nodes.
  world.fleet = fleet;
  const clients: Etcd3[] = [];
  try {
    const managerAddresses = await pinnedAddresses(ec2, world.ec2.subnetIds[0] as string, opts.managers);
    const managerData = await Promise.all(
      managerAddresses.map(async (a) =>
        baselineUserData({ cluster: opts.cluster, role: 'manager', tls: await managerTlsFiles(opts.dockerCa, a) }),
      ),
    );
    const t0 = Date.now();
    const launched = await launch(ec2, world, opts, managerAddresses, managerData);
    const launchedAt = Date.now();
    const marks = new Map<string, NodeMarks>([...launched.managerIds, ...launched.workerIds].map((id) => [id, {}]));
    const s = nodeScript(fleet, opts.image, marks);
    const [, first] = await Promise.all([startEtcd(s, launched, opts), formSwarm(s, launched)]);
    const workerAddresses = launched.workerIds.map((id) => fleet.nodes.get(id)?.address as string);
    const etcdHealthyAt = await waitEtcdHealthy([...managerAddresses, ...workerAddresses], clients);
    const swarmReadyAt = await waitSwarmReady(s, first, opts.managers + opts.workers, opts.managers);
    const convergedAt = Date.now();
    // Checked after the clock stopped: the managers' docker API is up over mutual TLS with
    // the certificate their user-data carried.
    await checkManagerTls(world, managerAddresses);
    const nodes = [...launched.managerIds, ...launched.workerIds].map((id) => fleet.nodes.get(id) as FleetNode);
    const journals = await Promise.all(nodes.map((n) => readNodeJournal(n.node.root, ['docker.service'])));
    const phase = (times: readonly (number | undefined)[]): PhaseSummary | undefined => summarisePhase(times, t0);
    const marked = (what: keyof NodeMarks): PhaseSummary | undefined => phase(nodes.map((n) => marks.get(n.instanceId)?.[what]));
    return {
      totalMs: convergedAt - t0,
      phases: {
        runInstancesReturned: launchedAt - t0,
        instanceRunning: phase(nodes.map((n) => n.seenAt)),
        nodeBooted: phase(nodes.map((n) => n.bootedAt)),
        dockerUp: phase(journals.map((j) => j.starts('docker.service')[0])),
        dockerSeenUpByScript: marked('dockerUp'),
        swarmJoined: marked('joined'),
        imagePulled: marked('pulled'),
        etcdStarted: marked('etcdStarted'),
        etcdHealthy: etcdHealthyAt - t0,
        swarmReady: swarmReadyAt - t0,
      },
    };
  } finally {
    for (const c of clients) c.close();
    await fleet.stop();
    world.fleet = undefined;
    ec2.destroy();
  }
}

/** Every manager at its pinned address (one call each, as PrivateIpAddress needs), the workers in one call; all at once. */
async function launch(
  ec2: EC2Client,
  world: E2eWorld,
  opts: Ec2BaselineOptions,
  managerAddresses: readonly string[],
  managerData: readonly string[],
): Promise<Launched> {
  const [managerSubnet, workerSubnet = managerSubnet] = world.ec2.subnetIds as [string, ...string[]];
  const runInstances = async (role: Role, count: number, subnet: string, data: string, address?: string): Promise<string[]> => {
    const out = await ec2.send(
      new RunInstancesCommand({
        ImageId: world.ec2.imageId,
        InstanceType: 't3.medium',
        MinCount: count,
        MaxCount: count,
        SubnetId: subnet,
        SecurityGroupIds: [...(world.ec2.securityGroupIds ?? [])],
        ...(address ? { PrivateIpAddress: address } : {}),
        UserData: Buffer.from(data).toString('base64'),
        TagSpecifications: tagSpecifications({ [TAGS.cluster]: opts.cluster, [TAGS.role]: role }),
      }),
    );
    return (out.Instances ?? []).map((i) => i.InstanceId as string);
  };
  const workerData = baselineUserData({ cluster: opts.cluster, role: 'worker' });
  const [managerIds, workerIds] = await Promise.all([
    Promise.all(managerAddresses.map((a, i) => runInstances('manager', 1, managerSubnet, managerData[i] as string, a))),
    opts.workers > 0 ? runInstances('worker', opts.workers, workerSubnet, workerData) : Promise.resolve([]),
  ]);
  return { managerAddresses, managerIds: managerIds.flat(), workerIds };
}

/** Each node as soon as its docker is up: the image pulled, then its etcd member (managers) or gateway (workers). */
async function startEtcd(s: NodeScript, l: Launched, opts: Ec2BaselineOptions): Promise<void> {
  const initialCluster = l.managerAddresses.map((a, i) => `m${i}=http://${a}:2380`).join(',');
  const endpoints = l.managerAddresses.map((a) => `${a}:2379`).join(',');
  // etcd's data on the node's disk: the image's default user is unprivileged, etcd runs as root like the agent.
  const member = ['--name', 'etcd', '--user', '0:0', '-v', '/var/lib/etcd:/var/lib/etcd'];
  const run = async (id: string, container: readonly string[], args: (address: string) => string[]): Promise<void> => {
    const n = await s.dockerUp(id);
    await s.pull(n);
    await s.docker(n, ['run', '-d', '--net=host', ...container, '--entrypoint', 'etcd', opts.image, ...args(n.address)]);
    s.mark(id, 'etcdStarted');
  };
  await Promise.all([
    ...l.managerIds.map((id, i) => run(id, member, (a) => etcdMemberFlags(`m${i}`, a, initialCluster, opts.cluster))),
    ...l.workerIds.map((id) =>
      run(id, ['--name', 'etcd-gateway'], (a) => ['gateway', 'start', `--endpoints=${endpoints}`, `--listen-addr=${a}:2379`]),
    ),
  ]);
}

/** swarm init on the first manager as soon as its docker is up; the others join as soon as theirs is. Returns the first manager. */
async function formSwarm(s: NodeScript, l: Launched): Promise<FleetNode> {
  const first = await s.dockerUp(l.managerIds[0] as string);
  await s.docker(first, ['swarm', 'init', '--listen-addr', `${first.address}:2377`, '--advertise-addr', first.address]);
  s.mark(first.instanceId, 'joined');
  const token = async (role: Role): Promise<string> => (await s.docker(first, ['swarm', 'join-token', '-q', role])).trim();
  const [managerToken, workerToken] = await Promise.all([token('manager'), token('worker')]);
  const join = async (id: string, t: string): Promise<void> => {
    const n = await s.dockerUp(id);
    const addr = ['--listen-addr', `${n.address}:2377`, '--advertise-addr', n.address];
    await s.docker(n, ['swarm', 'join', '--token', t, ...addr, `${first.address}:2377`]);
    s.mark(id, 'joined');
  };
  const workers = Promise.all(l.workerIds.map((id) => join(id, workerToken)));
  // One manager at a time: each join changes the swarm's raft membership.
  for (const id of l.managerIds.slice(1)) await join(id, managerToken);
  await workers;
  return first;
}

/**
 * Free addresses at the top of the subnet for the managers, known before the launch (a
 * static etcd cluster and the TLS certificates need them). Checked free in the machine's
 * loopback pool, then left for the node fleet to reserve when it boots the instance.
 */
async function pinnedAddresses(ec2: EC2Client, subnetId: string, count: number): Promise<string[]> {
  const subnet = (await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] }))).Subnets?.[0];
  const base = (subnet?.CidrBlock ?? '').replace(/\.0\/24$/, '');
  if (!base.startsWith('127.')) throw new Error(`subnet ${subnetId} is ${subnet?.CidrBlock}: only loopback /24 subnets may be used here`);
  const out: string[] = [];
  for (let fourth = 250; fourth > 100 && out.length < count; fourth--) {
    const address = `${base}.${fourth}`;
    if (!reserveSpecificLoopback(address)) continue;
    releaseLoopback(address);
    out.push(address);
  }
  if (out.length < count) throw new Error(`no ${count} free loopback addresses at the top of ${subnet?.CidrBlock}`);
  return out;
}

function etcdMemberFlags(name: string, address: string, initialCluster: string, token: string): string[] {
  return [
    `--name=${name}`,
    '--data-dir=/var/lib/etcd',
    `--listen-client-urls=http://${address}:2379`,
    `--advertise-client-urls=http://${address}:2379`,
    `--listen-peer-urls=http://${address}:2380`,
    `--initial-advertise-peer-urls=http://${address}:2380`,
    `--initial-cluster=${initialCluster}`,
    '--initial-cluster-state=new',
    `--initial-cluster-token=${token}`,
  ];
}
