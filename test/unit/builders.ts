// Fixture builders with overrides (style.md): aSpec(), aManager({ healthy: false }),
// aWorker(), aSnapshot({ nodes }) build hand-written worlds for the table-driven planner
// tests, the scenario files and the benchmark. Defaults describe a healthy, converged
// node; every override says what is different about it.
import type { EtcdMember, HealthMark, Instance, NodeControl, Operation, Snapshot, SwarmNode } from '../../src/model/snapshot.ts';
import { etcdClientUrl, etcdPeerUrl } from '../../src/model/snapshot.ts';
import { nodeConfigHash } from '../../src/spec/config-hash.ts';
import { resolveSpec, type ResolvedSpec } from '../../src/spec/defaults.ts';
import type { Role, SwarmClusterSpec } from '../../src/spec/schema.ts';

export const T0 = 1_700_000_000_000;
/** "Now" in the fixtures: an hour after T0, so default nodes are well past every timeout. */
export const NOW = T0 + 3_600_000;

export type SpecOverrides = Omit<Partial<SwarmClusterSpec>, 'managers' | 'workers'> & {
  managers?: number | SwarmClusterSpec['managers'];
  workers?: number | SwarmClusterSpec['workers'];
  generation?: number;
  /** The cluster is being deleted (metadata.deletionTimestamp), since this time. */
  deletionRequestedAt?: number;
};

export function aSpec(overrides: SpecOverrides = {}): ResolvedSpec {
  const { generation, managers, workers, deletionRequestedAt, ...rest } = overrides;
  const spec: SwarmClusterSpec = {
    managers: typeof managers === 'number' ? { count: managers as 1 | 3 | 5 | 7 } : (managers ?? { count: 3 }),
    workers: typeof workers === 'number' ? { count: workers } : (workers ?? { count: 2 }),
    provider: { sim: {} },
    ...rest,
  };
  const resolved = resolveSpec('prod', generation ?? 1, spec);
  return deletionRequestedAt === undefined ? resolved : { ...resolved, deletionRequestedAt };
}

export interface NodeOptions {
  readonly id?: string;
  readonly n?: number;
  readonly address?: string;
  readonly zone?: string;
  readonly launchedAt?: number;
  /** false: node down, member unhealthy and a detector mark older than the hold-down. */
  readonly healthy?: boolean;
  /** Seen unreachable but without a mark yet (a partition just started). */
  readonly unreachable?: boolean;
  readonly leader?: boolean;
  /** The swarm node's state when healthy (default 'ready'; 'unknown' until it registers with the leader). */
  readonly swarmState?: SwarmNode['state'];
  readonly outdated?: boolean;
  readonly instanceState?: Instance['state'];
  /** false: no swarm node (never joined). */
  readonly joined?: boolean;
  readonly swarmRole?: Role;
  readonly availability?: SwarmNode['availability'];
  readonly runningTasks?: number;
  /** Tasks of its services not running elsewhere yet (default 0: a drain settles at once). */
  readonly tasksNotMoved?: number;
  /** Manager's etcd member: 'voter' (default), 'learner', 'unstarted' learner, or 'none'. */
  readonly member?: 'voter' | 'learner' | 'unstarted' | 'none';
  readonly caughtUp?: boolean;
  readonly clientToken?: string;
  readonly control?: Omit<NodeControl, 'instanceId'>;
  readonly marks?: readonly Omit<HealthMark, 'instanceId'>[];
}

export interface NodeFixture {
  readonly role: Role;
  readonly opts: NodeOptions;
}

export const aManager = (opts: NodeOptions = {}): NodeFixture => ({ role: 'manager', opts });
export const aWorker = (opts: NodeOptions = {}): NodeFixture => ({ role: 'worker', opts });

export interface SnapshotOptions {
  readonly spec?: ResolvedSpec;
  readonly nodes: readonly NodeFixture[];
  readonly now?: number;
  readonly unavailable?: readonly ('instances' | 'swarm' | 'etcd')[];
  readonly operations?: readonly Operation[];
  readonly selfInstanceId?: string;
  /** Default: the voters' client URLs (nothing to publish). */
  readonly publishedClientURLs?: readonly string[];
  readonly extraMembers?: readonly EtcdMember[];
  readonly extraSwarmNodes?: readonly SwarmNode[];
  readonly swarmInitialized?: boolean;
}

export function aSnapshot(o: SnapshotOptions): Snapshot {
  const spec = o.spec ?? aSpec();
  const now = o.now ?? NOW;
  const instances: Instance[] = [];
  const nodes: SwarmNode[] = [];
  const members: EtcdMember[] = [...(o.extraMembers ?? [])];
  const marks: HealthMark[] = [];
  const controls: NodeControl[] = [];
  const counters = { manager: 0, worker: 0 };
  const hasLeader = o.nodes.some((f) => f.opts.leader);
  let k = 0;
  for (const f of o.nodes) {
    k += 1;
    counters[f.role] += 1;
    const p = f.opts;
    const id = p.id ?? `${f.role === 'manager' ? 'm' : 'w'}${p.n ?? counters[f.role]}`;
    const address = p.address ?? `10.0.${f.role === 'manager' ? 1 : 2}.${p.n ?? counters[f.role]}`;
    const healthy = p.healthy !== false && p.unreachable !== true;
    const isLeader = p.leader ?? (!hasLeader && f.role === 'manager' && counters.manager === 1);
    instances.push({
      id,
      role: f.role,
      state: p.instanceState ?? 'running',
      launchedAt: p.launchedAt ?? T0 + k * 1000,
      address,
      ...(p.zone === undefined ? {} : { zone: p.zone }),
      configHash: p.outdated ? 'outdated-hash' : nodeConfigHash(spec, f.role),
      ...(p.clientToken === undefined ? {} : { clientToken: p.clientToken }),
      tags: { 'swarmkeeper.cluster': spec.name },
    });
    if (p.joined !== false) {
      const role = p.swarmRole ?? f.role;
      nodes.push({
        id: `node-${id}`,
        role,
        availability: p.availability ?? 'active',
        state: healthy ? (p.swarmState ?? 'ready') : 'down',
        ...(role === 'manager' ? { reachability: healthy ? 'reachable' : 'unreachable' } : {}),
        leader: role === 'manager' && isLeader,
        instanceId: id,
        address,
        version: 10,
        runningTasks: p.runningTasks ?? 0,
        tasksNotMoved: p.tasksNotMoved ?? 0,
      });
    }
    const member = p.member ?? (f.role === 'manager' ? 'voter' : 'none');
    if (member !== 'none') {
      const started = member !== 'unstarted';
      members.push({
        id: `e-${id}`,
        name: started ? id : '',
        peerURLs: [etcdPeerUrl(address)],
        clientURLs: started ? [etcdClientUrl(address)] : [],
        isLearner: member !== 'voter',
        healthy: started && healthy,
        leader: member === 'voter' && isLeader,
        raftIndex: p.caughtUp === false ? 10 : 1000,
      });
    }
    if (p.healthy === false) marks.push({ instanceId: id, source: 'detector:swarm', reason: 'node down', since: now - 600_000 });
    for (const m of p.marks ?? []) marks.push({ ...m, instanceId: id });
    if (p.control) controls.push({ ...p.control, instanceId: id });
  }
  nodes.push(...(o.extraSwarmNodes ?? []));
  const withReports = members.map((m) => (m.healthy ? { ...m, reportedMembers: members.map((x) => x.id) } : m));
  const leaderId = members.find((m) => m.leader)?.id;
  // What the planner publishes: voters that are swarm managers too (full members).
  const swarmManagerAddresses = new Set(nodes.filter((n) => n.role === 'manager').map((n) => n.address));
  const hostOf = (m: EtcdMember): string => m.peerURLs[0]?.replace(/^http:\/\/|:\d+$/g, '') ?? '';
  const voters = members
    .filter((m) => !m.isLearner && swarmManagerAddresses.has(hostOf(m)))
    .map((m) => m.clientURLs[0] ?? etcdClientUrl(hostOf(m)))
    .sort();
  const unavailable = new Set(o.unavailable ?? []);
  const managersExist = o.nodes.some((f) => f.role === 'manager');
  return {
    observedAt: now,
    instances: unavailable.has('instances')
      ? { status: 'unavailable', error: 'describing instances: throttled' }
      : { status: 'ok', value: instances },
    swarm: unavailable.has('swarm')
      ? { status: 'unavailable', error: 'listing nodes: connection refused' }
      : { status: 'ok', value: { nodes, initialized: o.swarmInitialized ?? managersExist } },
    etcd: unavailable.has('etcd')
      ? { status: 'unavailable', error: 'etcd: context deadline exceeded' }
      : { status: 'ok', value: { members: withReports, ...(leaderId === undefined ? {} : { leaderId }), alarms: [] } },
    marks,
    operations: [...(o.operations ?? [])],
    controls,
    ...(o.selfInstanceId === undefined ? {} : { selfInstanceId: o.selfInstanceId }),
    publishedClientURLs: [...(o.publishedClientURLs ?? voters)],
  };
}

/** n healthy managers and m healthy workers, converged to aSpec({ managers: n, workers: m }). */
export function aConvergedCluster(managers: number, workers: number, extra: Partial<SnapshotOptions> = {}): Snapshot {
  const spec = extra.spec ?? aSpec({ managers, workers });
  const nodes = [...Array.from({ length: managers }, () => aManager()), ...Array.from({ length: workers }, () => aWorker())];
  return aSnapshot({ ...extra, spec, nodes });
}

export function anOperation(o: Partial<Operation> & Pick<Operation, 'stepKind' | 'target'>): Operation {
  return { id: `op-${o.stepKind}-${o.target}`, startedAt: NOW - 5000, state: 'running', attempts: 1, ...o };
}
