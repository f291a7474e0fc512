// The inventory: one row per instance of the cluster, joined with its swarm node (by the
// engine label `swarmkeeper.instance`) and, for managers, its etcd member (peer URL host
// == instance address; an unstarted learner has no name, so names are never used).
// Everything the rules ask about a node ("dead?", "outdated?", "ready?") is decided here
// once, so the rule modules read facts instead of re-deriving them.
import type { EtcdMember, EtcdView, HealthMark, Instance, NodeControl, Snapshot, SwarmNode, SwarmView } from '../model/snapshot.ts';
import { urlHost } from '../model/snapshot.ts';
import type { ResolvedSpec } from '../spec/defaults.ts';
import type { Role } from '../spec/schema.ts';
import { nodeConfigHash } from '../spec/config-hash.ts';
import { isHealthyMember } from './quorum.ts';

export interface NodeView {
  readonly id: string;
  readonly instance: Instance;
  readonly role: Role;
  readonly swarm?: SwarmNode;
  readonly member?: EtcdMember;
  readonly marks: readonly HealthMark[];
  readonly control?: NodeControl;
  /** Launched from a config other than the one the spec yields now, or its replacement was asked for. */
  readonly outdated: boolean;
  /** Removal started: swarmkeeper drains first, so availability=drain marks it (unless the operator drained it). */
  readonly removing: boolean;
  /**
   * The availability the operator asked for (node cordon/drain/uncordon), while it is
   * the operator's word that counts: the node is whole and no removal drained it since.
   */
  readonly operatorAvailability?: 'active' | 'pause' | 'drain';
  /** The node's agent joined the swarm (a node object with its label exists). */
  readonly joined: boolean;
  /** Dead: replace it (instance stopped, or a health mark older than unhealthyAfterSeconds). */
  readonly dead: boolean;
  readonly deadReason?: string;
  /** Never joined within nodeStartupTimeoutSeconds (rule 14). */
  readonly orphan: boolean;
  /** Manager only: etcd voter and swarm manager. */
  readonly fullMember: boolean;
  /** Serving: joined, ready, active, and for a manager a reachable full member. */
  readonly ready: boolean;
  /** Current etcd or swarm leader. */
  readonly leader: boolean;
  /** The controller runs on this node. */
  readonly self: boolean;
}

export interface Inventory {
  readonly spec: ResolvedSpec;
  readonly now: number;
  readonly managers: readonly NodeView[];
  readonly workers: readonly NodeView[];
  /** etcd members whose peer host matches no manager instance: phantoms (rule 6). */
  readonly strayMembers: readonly EtcdMember[];
  /** Labelled swarm nodes whose instance is gone, or duplicates of a re-joined instance. */
  readonly straySwarmNodes: readonly SwarmNode[];
  readonly etcd?: EtcdView;
  readonly swarm?: SwarmView;
  readonly instancesOk: boolean;
  /** Every source was read completely (rule 1). */
  readonly complete: boolean;
  readonly hashes: { readonly manager: string; readonly worker: string };
}

const DEAD_STATES = new Set(['stopping', 'stopped', 'shutting-down']);
const NO_MARKS: readonly HealthMark[] = Object.freeze([]);

export function buildInventory(spec: ResolvedSpec, snapshot: Snapshot, now: number): Inventory {
  // A partial list is kept for display only: every rule that counts instances checks
  // `instancesOk` first.
  const instances = snapshot.instances.status === 'ok' ? snapshot.instances.value : (snapshot.instances.partial ?? []);
  const etcd = snapshot.etcd.status === 'ok' ? snapshot.etcd.value : undefined;
  const swarm = snapshot.swarm.status === 'ok' ? snapshot.swarm.value : undefined;
  const hashes = { manager: nodeConfigHash(spec, 'manager'), worker: nodeConfigHash(spec, 'worker') };

  const live = instances.filter((i) => i.state !== 'terminated');
  const liveIds = new Set<string>();
  for (const i of live) liveIds.add(i.id);
  const { byInstance, strays: straySwarmNodes } = indexSwarmNodes(swarm?.nodes ?? [], liveIds);

  const managerAddresses = new Map<string, Instance>();
  for (const i of live) if (i.role === 'manager' && i.address !== undefined) managerAddresses.set(i.address, i);
  const memberOf = new Map<string, EtcdMember>();
  const strayMembers: EtcdMember[] = [];
  for (const m of etcd?.members ?? []) {
    const host = m.peerURLs[0] === undefined ? undefined : urlHost(m.peerURLs[0]);
    const inst = host === undefined ? undefined : managerAddresses.get(host);
    if (inst && !memberOf.has(inst.id)) memberOf.set(inst.id, m);
    else strayMembers.push(m);
  }

  const marksOf = groupBy(snapshot.marks, (m) => m.instanceId);
  const controlOf = new Map(snapshot.controls.map((c) => [c.instanceId, c] as const));
  const removalDrains = lastRemovalDrains(snapshot);
  const etcdLeader = etcd?.leaderId;
  const rows = live.map((inst) =>
    describeNode(spec, now, inst, {
      swarm: byInstance.get(inst.id),
      member: inst.role === 'manager' ? memberOf.get(inst.id) : undefined,
      marks: marksOf.size === 0 ? NO_MARKS : (marksOf.get(inst.id) ?? NO_MARKS),
      control: controlOf.size === 0 ? undefined : controlOf.get(inst.id),
      etcdLeader,
      selfId: snapshot.selfInstanceId,
      hash: inst.role === 'manager' ? hashes.manager : hashes.worker,
      lastRemovalDrain: removalDrains.size === 0 ? undefined : removalDrains.get(inst.id),
    }),
  );
  rows.sort((a, b) => compareStrings(a.id, b.id));
  return {
    spec,
    now,
    managers: rows.filter((r) => r.role === 'manager'),
    workers: rows.filter((r) => r.role === 'worker'),
    strayMembers,
    straySwarmNodes,
    etcd,
    swarm,
    instancesOk: snapshot.instances.status === 'ok',
    complete: snapshot.instances.status === 'ok' && snapshot.etcd.status === 'ok' && snapshot.swarm.status === 'ok',
    hashes,
  };
}

interface NodeFacts {
  readonly swarm?: SwarmNode;
  readonly member?: EtcdMember;
  readonly marks: readonly HealthMark[];
  readonly control?: NodeControl;
  readonly etcdLeader?: string;
  readonly selfId?: string;
  readonly hash: string;
  /** When the journal last shows a removal's drain of this node (ms epoch). */
  readonly lastRemovalDrain?: number;
}

function describeNode(spec: ResolvedSpec, now: number, inst: Instance, f: NodeFacts): NodeView {
  const joined = f.swarm !== undefined;
  const deadReason = deadReasonOf(spec, now, inst, f.marks);
  const startupDeadline = inst.launchedAt + spec.healing.nodeStartupTimeoutSeconds * 1000;
  const learnerNeverStarted = f.member !== undefined && f.member.isLearner && f.member.name === '';
  const orphan = now >= startupDeadline && (!joined || learnerNeverStarted) && deadReason === undefined;
  const fullMember = inst.role === 'manager' && f.member !== undefined && !f.member.isLearner && f.swarm?.role === 'manager';
  const operatorAvailability = operatorAvailabilityOf(inst, f, fullMember);
  // A node the operator cordoned or drained on purpose still counts as serving: it is
  // healthy, and the planner must neither replace it nor wait for it.
  const serving =
    f.swarm !== undefined && f.swarm.state === 'ready' && (f.swarm.availability === 'active' || operatorAvailability !== undefined);
  const managerOk =
    inst.role === 'worker' || (fullMember && f.swarm?.reachability === 'reachable' && f.member !== undefined && isHealthyMember(f.member));
  return {
    id: inst.id,
    instance: inst,
    role: inst.role,
    swarm: f.swarm,
    member: f.member,
    marks: f.marks,
    control: f.control,
    outdated: inst.configHash !== f.hash || f.control?.request?.action === 'replace',
    removing: f.swarm?.availability === 'drain' && operatorAvailability === undefined,
    ...(operatorAvailability === undefined ? {} : { operatorAvailability }),
    joined,
    dead: deadReason !== undefined,
    deadReason,
    orphan,
    fullMember,
    ready: deadReason === undefined && !orphan && serving && managerOk,
    leader: f.swarm?.leader === true || (f.member !== undefined && (f.member.leader || f.member.id === f.etcdLeader)),
    self: f.selfId === inst.id,
  };
}

const REQUESTED_AVAILABILITY = { cordon: 'pause', drain: 'drain', uncordon: 'active' } as const;

/**
 * The operator's cordon/drain/uncordon holds while the node is whole (a worker in the
 * swarm; a manager that is etcd voter and swarm manager) and no removal's drain came
 * after the request: a removal the planner started later (scale-down, replacement,
 * deletion) is then under way and wins, and availability=drain marks it again.
 */
function operatorAvailabilityOf(inst: Instance, f: NodeFacts, fullMember: boolean): NodeView['operatorAvailability'] {
  const req = f.control?.request;
  if (!req || req.action === 'replace') return undefined;
  const whole = inst.role === 'worker' ? f.swarm?.role === 'worker' : fullMember;
  if (!whole || (f.lastRemovalDrain !== undefined && f.lastRemovalDrain >= req.requestedAt)) return undefined;
  return REQUESTED_AVAILABILITY[req.action];
}

/** The latest journal `swarm.drain` (removals drain with it; operator requests do not) per target. */
function lastRemovalDrains(snapshot: Snapshot): Map<string, number> {
  const out = new Map<string, number>();
  for (const op of snapshot.operations) {
    if (op.stepKind !== 'swarm.drain') continue;
    const prev = out.get(op.target);
    if (prev === undefined || op.startedAt > prev) out.set(op.target, op.startedAt);
  }
  return out;
}

/** Why the node is dead, or undefined. Marks count only after the hold-down (rule 11). */
function deadReasonOf(spec: ResolvedSpec, now: number, inst: Instance, marks: readonly HealthMark[]): string | undefined {
  if (DEAD_STATES.has(inst.state)) return `instance is ${inst.state}`;
  if (marks.length === 0) return undefined;
  const holdDown = spec.healing.unhealthyAfterSeconds * 1000;
  const held = marks
    .filter((m) => m.source !== 'detector:startup' && (m.expiresAt === undefined || m.expiresAt > now) && m.since + holdDown <= now)
    .sort((a, b) => a.since - b.since || compareStrings(a.source, b.source));
  const first = held[0];
  return first === undefined ? undefined : `${first.source}: ${first.reason}`;
}

/** One node per live instance (a ready manager first); the rest are strays to clean up. Linear. */
function indexSwarmNodes(
  nodes: readonly SwarmNode[],
  liveIds: ReadonlySet<string>,
): { byInstance: Map<string, SwarmNode>; strays: SwarmNode[] } {
  const byInstance = new Map<string, SwarmNode>();
  const strays: SwarmNode[] = [];
  for (const n of nodes) {
    if (n.instanceId === undefined) continue; // not ours: never touched
    if (!liveIds.has(n.instanceId)) {
      strays.push(n);
      continue;
    }
    const cur = byInstance.get(n.instanceId);
    if (cur === undefined) byInstance.set(n.instanceId, n);
    // A re-joined engine leaves its old node behind: keep the best, the rest are strays.
    else if (rankNode(n) < rankNode(cur) || (rankNode(n) === rankNode(cur) && n.id < cur.id)) {
      strays.push(cur);
      byInstance.set(n.instanceId, n);
    } else strays.push(n);
  }
  strays.sort((a, b) => compareStrings(a.id, b.id));
  return { byInstance, strays };
}

function rankNode(n: SwarmNode): number {
  return (n.state === 'ready' ? 0 : 2) + (n.role === 'manager' ? 0 : 1);
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = out.get(k);
    if (list) list.push(it);
    else out.set(k, [it]);
  }
  return out;
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function nodesOf(inv: Inventory, role: Role): readonly NodeView[] {
  return role === 'manager' ? inv.managers : inv.workers;
}
