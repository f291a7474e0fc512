// The hand-scripted baseline of bench/converge-ec2.ts: what an operator would do without
// swarmkeeper on the same kind of node, in the same world. RunInstances into moto of the
// managers (each at a pinned private address, with its docker TLS certificate in its
// user-data) and the workers, booted by the same node fleet (real Ignition, systemd-nspawn,
// the IMDSv2 stand-in) from a user-data that only brings docker up as swarmkeeper's nodes
// do (ec2-baseline-user-data.ts). Then, by script, through each node's own docker socket
// (standing in for ssh): the management image pulled from the loopback registry, as
// swarmkeeper's bootstrap unit pulls it; an etcd member with a static initial cluster on
// every manager (`docker run --net=host` of that image, which has etcd inside); swarm init
// on the first manager, the other managers joined one after the other and the workers in
// parallel; an etcd gateway on every worker. Each node goes as fast as its own boot allows.
// Done when every member and gateway answers a quorum read and the swarm lists every
// node ready, all managers reachable.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DescribeSubnetsCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { Etcd3 } from 'etcd3';
import type { E2eWorld } from '../test/support/ec2-e2e-world.ts';
import { runEc2NodeFleet, type Ec2NodeFleet, type FleetNode } from '../test/support/ec2-node-fleet.ts';
import { until } from '../test/support/until.ts';
import { releaseLoopback, reserveSpecificLoopback } from '../src/net/loopback-pool.ts';
import { TAGS, tagSpecifications } from '../src/providers/ec2/ec2-instances.ts';
import type { DockerCa } from '../src/providers/ec2/docker-ca.ts';
import { baselineUserData, managerTlsFiles } from './ec2-baseline-user-data.ts';
import { readNodeJournal, summarisePhase, type PhaseSummary } from './ec2-node-timeline.ts';

const run = promisify(execFile);
const WAIT = { timeoutMs: 600_000, intervalMs: 200 };

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

/** Per node, when each step of its script ended (ms since epoch). */
type NodeMarks = Partial<Record<'dockerUp' | 'pulled' | 'etcdStarted' | 'joined', number>>;

export async function runEc2Baseline(world: E2eWorld, opts: Ec2BaselineOptions): Promise<Ec2BaselineResult> {
  const ec2 = new EC2Client({ region: world.ec2.region, endpoint: world.ec2.endpoint });
  const fleet = runEc2NodeFleet({ endpoint: world.moto.endpoint, region: world.ec2.region, cluster: opts.cluster });
  const clients: Etcd3[] = [];
  try {
    const managerAddresses = await pinnedAddresses(ec2, world.ec2.subnetIds[0] as string, opts.managers);
    const userData = await Promise.all(
      managerAddresses.map(async (a) =>
        baselineUserData({ cluster: opts.cluster, role: 'manager', image: opts.image, tls: await managerTlsFiles(opts.dockerCa, a) }),
      ),
    );
    const workerData = baselineUserData({ cluster: opts.cluster, role: 'worker', image: opts.image });
    const t0 = Date.now();
    const launchOne = async (
      role: 'manager' | 'worker',
      count: number,
      subnet: string,
      data: string,
      address?: string,
    ): Promise<string[]> => {
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
    const ids = await Promise.all([
      ...managerAddresses.map((a, i) => launchOne('manager', 1, world.ec2.subnetIds[0] as string, userData[i] as string, a)),
      launchOne('worker', opts.workers, (world.ec2.subnetIds[1] ?? world.ec2.subnetIds[0]) as string, workerData),
    ]);
    const launchedAt = Date.now();
    const managerIds = ids.slice(0, opts.managers).flat();
    const workerIds = ids.at(-1) ?? [];
    const marks = new Map<string, NodeMarks>([...managerIds, ...workerIds].map((id) => [id, {}]));
    const s = script(fleet, opts.image, marks);

    const endpoints = managerAddresses.map((a) => `${a}:2379`);
    const initialCluster = managerAddresses.map((a, i) => `m${i}=http://${a}:2380`).join(',');
    const etcdSide = Promise.all([
      ...managerIds.map(async (id, i) => {
        const n = await s.dockerUp(id);
        await s.pull(n);
        await s.docker(
          n,
          ['run', '-d', '--name', 'etcd', '--net=host', '--user', '0:0', '-v', '/var/lib/etcd:/var/lib/etcd'].concat([
            '--entrypoint',
            'etcd',
            opts.image,
            ...etcdFlags(`m${i}`, n.address, initialCluster, opts.cluster),
          ]),
        );
        s.mark(id, 'etcdStarted');
      }),
      ...workerIds.map(async (id) => {
        const n = await s.dockerUp(id);
        await s.pull(n);
        await s.docker(
          n,
          ['run', '-d', '--name', 'etcd-gateway', '--net=host', '--entrypoint', 'etcd', opts.image].concat([
            'gateway',
            'start',
            `--endpoints=${endpoints.join(',')}`,
            `--listen-addr=${n.address}:2379`,
          ]),
        );
        s.mark(id, 'etcdStarted');
      }),
    ]);

    const swarmSide = (async () => {
      const first = await s.dockerUp(managerIds[0] as string);
      await s.docker(first, ['swarm', 'init', '--listen-addr', `${first.address}:2377`, '--advertise-addr', first.address]);
      s.mark(first.instanceId, 'joined');
      const token = async (role: string): Promise<string> => (await s.docker(first, ['swarm', 'join-token', '-q', role])).trim();
      const [managerToken, workerToken] = await Promise.all([token('manager'), token('worker')]);
      const join = async (id: string, t: string): Promise<void> => {
        const n = await s.dockerUp(id);
        await s.docker(n, [
          'swarm',
          'join',
          '--token',
          t,
          '--listen-addr',
          `${n.address}:2377`,
          '--advertise-addr',
          n.address,
          `${first.address}:2377`,
        ]);
        s.mark(id, 'joined');
      };
      const workers = Promise.all(workerIds.map((id) => join(id, workerToken)));
      // One manager at a time: each join changes the swarm's raft membership.
      for (const id of managerIds.slice(1)) await join(id, managerToken);
      await workers;
      return first;
    })();

    const [, first] = await Promise.all([etcdSide, swarmSide]);
    const etcdHealthyAt = await waitEtcdHealthy(
      [...managerAddresses, ...workerIds.map((id) => fleet.nodes.get(id)?.address as string)],
      clients,
    );
    const swarmReadyAt = await waitSwarmReady(s, first, opts.managers + opts.workers, opts.managers);
    const convergedAt = Date.now();
    // Checked after the clock stopped: the managers' docker API is up over mutual TLS with
    // the certificate their user-data carried.
    await checkManagerTls(world, managerAddresses);
    const nodes = [...managerIds, ...workerIds].map((id) => fleet.nodes.get(id) as FleetNode);
    const journals = await Promise.all(nodes.map((n) => readNodeJournal(n.node.root, ['docker.service'])));
    const at = (pick: (m: NodeMarks) => number | undefined): (number | undefined)[] =>
      nodes.map((n) => pick(marks.get(n.instanceId) ?? {}));
    return {
      totalMs: convergedAt - t0,
      phases: {
        runInstancesReturned: launchedAt - t0,
        instanceRunning: summarisePhase(
          nodes.map((n) => n.seenAt),
          t0,
        ),
        nodeBooted: summarisePhase(
          nodes.map((n) => n.bootedAt),
          t0,
        ),
        dockerUp: summarisePhase(
          journals.map((j) => j.starts('docker.service')[0]),
          t0,
        ),
        dockerSeenUpByScript: summarisePhase(
          at((m) => m.dockerUp),
          t0,
        ),
        imagePulled: summarisePhase(
          at((m) => m.pulled),
          t0,
        ),
        etcdStarted: summarisePhase(
          at((m) => m.etcdStarted),
          t0,
        ),
        swarmJoined: summarisePhase(
          at((m) => m.joined),
          t0,
        ),
        etcdHealthy: etcdHealthyAt - t0,
        swarmReady: swarmReadyAt - t0,
      },
    };
  } finally {
    for (const c of clients) c.close();
    await fleet.stop();
    ec2.destroy();
  }
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

function etcdFlags(name: string, address: string, initialCluster: string, token: string): string[] {
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

/** The script's verbs on one node, through the node's docker socket (what ssh + docker would do). */
function script(fleet: Ec2NodeFleet, image: string, marks: Map<string, NodeMarks>) {
  const mark = (id: string, what: keyof NodeMarks): void => {
    const m = marks.get(id);
    if (m) m[what] = Date.now();
  };
  const docker = async (n: FleetNode, args: readonly string[]): Promise<string> => {
    const pid = n.node.initPid();
    if (pid === undefined) throw new Error(`node ${n.instanceId} is not running`);
    return (await run('docker', ['-H', `unix:///proc/${pid}/root/run/docker.sock`, ...args], { timeout: 300_000 })).stdout;
  };
  const up = new Map<string, Promise<FleetNode>>();
  /** The node once the fleet booted it and its docker answers (polled, as a script would). */
  const dockerUp = (id: string): Promise<FleetNode> => {
    let p = up.get(id);
    if (!p) {
      p = (async () => {
        const n = await until(`instance ${id} booted by the fleet`, () => bootedOrFailed(fleet, id), WAIT);
        if (n instanceof Error) throw n;
        await until(`docker on ${id}`, async () => (await docker(n, ['version', '--format', '{{.Server.Version}}'])).trim() !== '', WAIT);
        mark(id, 'dockerUp');
        return n;
      })();
      up.set(id, p);
    }
    return p;
  };
  const pull = async (n: FleetNode): Promise<void> => {
    await docker(n, ['pull', '-q', image]);
    mark(n.instanceId, 'pulled');
  };
  return { docker, dockerUp, pull, mark };
}

/** Every member and gateway answers a linearizable read (a quorum of the members agreed). */
async function waitEtcdHealthy(addresses: readonly string[], clients: Etcd3[]): Promise<number> {
  const probes = addresses.map((a) => {
    const c = new Etcd3({ hosts: `http://${a}:2379`, dialTimeout: 2000 });
    clients.push(c);
    return c;
  });
  await until(
    'every etcd member and gateway to answer a quorum read',
    async () => {
      const reads = probes.map((c) => Promise.race([c.get('baseline-probe').string(), timeout(2000)]).then(() => true));
      return (await Promise.all(reads)).every(Boolean);
    },
    WAIT,
  );
  return Date.now();
}

async function waitSwarmReady(s: ReturnType<typeof script>, first: FleetNode, nodes: number, managers: number): Promise<number> {
  await until(
    'every swarm node ready and every manager reachable',
    async () => {
      const lines = (await s.docker(first, ['node', 'ls', '--format', '{{.Status}} {{.ManagerStatus}}'])).trim().split('\n');
      const ready = lines.filter((l) => l.startsWith('Ready'));
      const reachable = ready.filter((l) => / (Leader|Reachable)$/.test(l));
      return ready.length === nodes && reachable.length === managers;
    },
    WAIT,
  );
  return Date.now();
}

async function checkManagerTls(world: E2eWorld, managers: readonly string[]): Promise<void> {
  const t = world.dockerTls;
  for (const m of managers) {
    await run('docker', ['--tlsverify', '--tlscacert', t.ca, '--tlscert', t.cert, '--tlskey', t.key, '-H', `tcp://${m}:2376`, 'version'], {
      timeout: 30_000,
    }).catch((err: unknown) => {
      throw new Error(`manager ${m} does not serve docker over mutual TLS: ${(err as Error).message.split('\n')[0]}`);
    });
  }
}

/** The fleet's node for `id`, or the fleet's boot failures (which end the run at once). */
function bootedOrFailed(fleet: Ec2NodeFleet, id: string): FleetNode | Error | undefined {
  if (fleet.errors.length > 0) return new Error(`node fleet: ${fleet.errors.join('; ')}`);
  return fleet.nodes.get(id);
}

function timeout(ms: number): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms).unref());
}
