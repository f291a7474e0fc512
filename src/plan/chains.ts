// Step chains for one node. A chain is the node's remaining path, emitted up to and
// including its first membership step (that step's result must be observed before the
// next: rule 3). Re-planned from the observed state each cycle, a chain resumes where
// the world is, so a crash between steps repeats nothing.
//
// Manager removal order (rule 7): drain, move etcd leadership away, swarm demote (the
// executor waits to SEE the worker role), etcd member remove through a survivor, swarm
// node remove, terminate; the endpoints refresh follows from plan.ts.
// Worker removal order (rule 8): drain, wait for tasks to move (bounded by the drain
// timeout), remove from the swarm, terminate. Managers wait for their tasks too, before
// any membership step.
//
// The drain timeout: a node that is up in the swarm waits until none of its tasks runs
// on it and the tasks of its services run elsewhere. When the timeout passes first
// (a task pinned to that node, a service that cannot start anywhere else), a voluntary
// removal (scale-down, rollout) stops there: the node stays drained and joined, its
// instance keeps running, and the hold DrainTimedOut names what did not move, until the
// tasks run elsewhere (then the removal goes on by itself) or the operator frees them.
// An unhealthy node (remediation) is not waited for: it may be dead while the swarm
// still lists it ready, and swarm reschedules its tasks when it leaves.
import type { EtcdMember, SwarmNode } from '../model/snapshot.ts';
import { etcdPeerUrl } from '../model/snapshot.ts';
import type { PlanContext } from './context.ts';
import type { NodeView } from './inventory.ts';
import { compareStrings } from './inventory.ts';
import { describeProjection, etcdQuorum, isHealthyMember, isReachableManager, projectChange, swarmQuorum } from './quorum.ts';
import type { RuleId } from './steps.ts';

export interface Why {
  readonly rule: RuleId;
  readonly reason: string;
  /** Voluntary removals of serving nodes keep this many ready nodes of the role (maxUnavailable). */
  readonly minReadyAfter?: number;
}

/** Emits the removal chain of `n`. Returns false when something held it back. */
export function emitRemoval(ctx: PlanContext, n: NodeView, why: Why): boolean {
  if (!ctx.inv.complete) {
    ctx.hold('R1-complete-observation', 'ObservationIncomplete', `removing ${n.id} waits for a complete observation`);
    return false;
  }
  const sw = n.swarm;
  if (sw && sw.availability !== 'drain') {
    ctx.emit({
      kind: 'swarm.drain',
      instanceId: n.id,
      nodeId: sw.id,
      ...(why.minReadyAfter === undefined ? {} : { minReadyAfter: why.minReadyAfter }),
      rule: why.rule,
      reason: why.reason,
    });
  }
  if (sw && sw.state === 'ready' && !n.dead && !drainSettled(sw) && !emitDrainWait(ctx, n, sw)) return false;
  if (n.member && !emitMemberExit(ctx, n, n.member, sw)) return false;
  if (!n.member && sw && sw.role === 'manager') {
    emitDemote(ctx, sw, n.id, n.dead);
    return false;
  }
  if (sw)
    ctx.emit({
      kind: 'swarm.removeNode',
      nodeId: sw.id,
      instanceId: n.id,
      force: sw.state !== 'down',
      rule: ruleOf(n),
      reason: `remove ${n.id} from the swarm`,
    });
  ctx.emit({ kind: 'instance.terminate', instanceId: n.id, role: n.role, rule: ruleOf(n), reason: why.reason });
  return true;
}

function ruleOf(n: NodeView): RuleId {
  return n.role === 'manager' ? 'R7-manager-removal-order' : 'R8-worker-removal-order';
}

/** Leadership away, demote, member remove: false when the chain must stop here this cycle. */
function emitMemberExit(ctx: PlanContext, n: NodeView, member: EtcdMember, sw: SwarmNode | undefined): boolean {
  const isLeader = member.leader || ctx.inv.etcd?.leaderId === member.id;
  if (isLeader && !member.isLearner) {
    const to = leadershipTarget(ctx, member.id);
    if (!to) {
      ctx.hold('R7-manager-removal-order', 'NoLeadershipTarget', `etcd leadership cannot move away from ${n.id}: no other healthy voter`);
      return false;
    }
    ctx.emit({
      kind: 'etcd.moveLeader',
      fromMemberId: member.id,
      toMemberId: to.id,
      rule: 'R7-manager-removal-order',
      reason: `move etcd leadership away from ${n.id} before it leaves`,
    });
  }
  if (sw && sw.role === 'manager') {
    emitDemote(ctx, sw, n.id, n.dead);
    return false;
  }
  emitMemberRemove(ctx, member, n.id, n.dead);
  return false;
}

export function emitDemote(ctx: PlanContext, sw: SwarmNode, instanceId: string | undefined, dead: boolean): boolean {
  const swarm = ctx.inv.swarm;
  if (!swarm) return false;
  const p = projectChange(swarmQuorum(swarm), { remove: { healthy: isReachableManager(sw) } });
  const label = instanceId ?? sw.id;
  if (!p.ok) {
    ctx.hold('R5-projected-quorum', 'QuorumAtRisk', `demoting ${label} refused: ${describeProjection('swarm', p)}`);
    return false;
  }
  if (!dead && isReachableManager(sw) && p.votersAfter === 2 && ctx.spec.managers.count !== 1 && !ctx.deleting) {
    ctx.hold(
      'R2-manager-floor',
      'TwoManagersEnRoute',
      `demoting ${label} would leave two managers on the way to ${ctx.spec.managers.count}`,
    );
    return false;
  }
  return ctx.emit({
    kind: 'swarm.demote',
    instanceId: instanceId ?? sw.id,
    nodeId: sw.id,
    rule: 'R7-manager-removal-order',
    reason: `demote ${label} (${describeProjection('swarm', p)})`,
  });
}

export function emitMemberRemove(ctx: PlanContext, member: EtcdMember, instanceId: string | undefined, dead: boolean): boolean {
  const etcd = ctx.inv.etcd;
  if (!etcd) return false;
  const label = instanceId ?? `member ${member.id}`;
  if (!member.isLearner) {
    const healthy = isHealthyMember(member);
    const p = projectChange(etcdQuorum(etcd), { remove: { healthy } });
    if (!p.ok) {
      ctx.hold('R5-projected-quorum', 'QuorumAtRisk', `removing etcd member of ${label} refused: ${describeProjection('etcd', p)}`);
      return false;
    }
    if (!dead && healthy && p.votersAfter === 2 && ctx.spec.managers.count !== 1 && !ctx.deleting) {
      ctx.hold(
        'R2-manager-floor',
        'TwoManagersEnRoute',
        `removing ${label} would leave two etcd members on the way to ${ctx.spec.managers.count}`,
      );
      return false;
    }
    return ctx.emit({
      kind: 'etcd.removeMember',
      memberId: member.id,
      ...(instanceId === undefined ? {} : { instanceId }),
      rule: dead ? 'R6-replace-order' : 'R7-manager-removal-order',
      reason: `remove the etcd member of ${label} (${describeProjection('etcd', p)})`,
    });
  }
  return ctx.emit({
    kind: 'etcd.removeMember',
    memberId: member.id,
    ...(instanceId === undefined ? {} : { instanceId }),
    rule: 'R6-replace-order',
    reason: `remove the etcd learner of ${label} (no vote: quorum unchanged)`,
  });
}

/** A healthy voter to hand etcd leadership to: a serving manager, lowest member id. */
function leadershipTarget(ctx: PlanContext, fromId: string): EtcdMember | undefined {
  const serving = new Set(ctx.inv.managers.filter((m) => m.ready && !m.removing && m.member).map((m) => m.member?.id));
  return (ctx.inv.etcd?.members ?? [])
    .filter((m) => m.id !== fromId && !m.isLearner && isHealthyMember(m) && serving.has(m.id))
    .sort((a, b) => compareStrings(a.id, b.id))[0];
}

/** No task runs on the drained node and the tasks of its services run elsewhere. */
export function drainSettled(sw: SwarmNode): boolean {
  return sw.availability === 'drain' && sw.runningTasks === 0 && sw.tasksNotMoved === 0;
}

/** The wait for tasks to move, or the DrainTimedOut hold once its deadline passed (false: stop the chain). */
function emitDrainWait(ctx: PlanContext, n: NodeView, sw: SwarmNode): boolean {
  const deadline = drainDeadline(ctx, sw.id, n.id, 'swarm.drain');
  // A cluster being deleted goes on at the timeout too: its tasks will have nowhere to run.
  const onTimeout = ctx.deleting ? 'proceed' : 'hold';
  if (onTimeout === 'hold' && ctx.now >= deadline && sw.availability === 'drain') {
    const left = [
      sw.runningTasks ? `${sw.runningTasks} task(s) still on it` : '',
      sw.tasksNotMoved
        ? `${sw.tasksNotMoved} task(s) of its services not running elsewhere yet${sw.tasksNotMovedWhy ? ` (${sw.tasksNotMovedWhy})` : ''}`
        : '',
    ].filter(Boolean);
    ctx.hold(
      ruleOf(n),
      'DrainTimedOut',
      `removal of ${n.id} waits: drainTimeoutSeconds (${ctx.spec.rollout.drainTimeoutSeconds}) passed with ${left.join(' and ') || 'its tasks not counted'}; it stays drained until they run elsewhere`,
    );
    return false;
  }
  ctx.emit({
    kind: 'swarm.waitDrained',
    instanceId: n.id,
    nodeId: sw.id,
    deadline,
    onTimeout,
    rule: ruleOf(n),
    reason: `let tasks move off ${n.id}`,
  });
  return true;
}

/** The drain deadline: from when the journal says the drain ran, else from now. */
export function drainDeadline(
  ctx: PlanContext,
  nodeId: string,
  instanceId: string,
  drainKind: 'swarm.drain' | 'swarm.setAvailability',
): number {
  const drains = ctx.snapshot.operations.filter((op) => op.stepKind === drainKind && (op.target === instanceId || op.target === nodeId));
  const started = drains.reduce<number | undefined>((acc, op) => (acc === undefined || op.startedAt > acc ? op.startedAt : acc), undefined);
  return (started ?? ctx.now) + ctx.spec.rollout.drainTimeoutSeconds * 1000;
}

/** The add path of a manager (rule 6): learner, caught up, promote, swarm promote. */
export function emitManagerJoin(ctx: PlanContext, n: NodeView): void {
  const etcd = ctx.inv.etcd;
  const inst = n.instance;
  if (inst.state !== 'running' || inst.address === undefined) {
    ctx.hold('converge', 'WaitingForNodes', `manager ${n.id} is booting`);
    return;
  }
  // The etcd steps need only etcd's view: the swarm may be unreadable while the first
  // manager initialises it, and the learner must not wait for that.
  if (!etcd) {
    ctx.hold('R1-complete-observation', 'ObservationIncomplete', `adding manager ${n.id} waits for etcd to be observed`);
    return;
  }
  const m = n.member;
  // A fresh instance gets its learner as soon as it runs: its agent starts etcd while
  // dockerd and the swarm join come up, and etcd's 5 s health window (which gates the
  // NEXT member add) starts that much earlier. A learner has no vote, so one whose node
  // never starts costs no quorum; it turns the node into an orphan (rule 14).
  // An instance the journal shows as a member or on its way out before (a removal cut
  // short after its member went) is re-added only once its agent has joined the swarm
  // as a worker: that proves a live agent, not a stale etcd data dir. Past the
  // journal's memory such a node is an orphan already (launched long ago, not joined).
  if (!m && journalShowsMembership(ctx, n.id) && (!n.swarm || n.swarm.state !== 'ready')) {
    ctx.hold('converge', 'WaitingForNodes', `manager ${n.id} was an etcd member before: re-added once it has joined the swarm as a worker`);
    return;
  }
  if (!m) {
    const other = etcd.members.find((x) => x.isLearner || x.name === '');
    if (other) {
      ctx.hold(
        'R6-replace-order',
        'LearnerInFlight',
        `adding ${n.id} waits: member ${other.id} is a learner or not started (one at a time)`,
      );
      return;
    }
    ctx.emit({
      kind: 'etcd.addLearner',
      instanceId: n.id,
      peerURL: etcdPeerUrl(inst.address),
      rule: 'R6-replace-order',
      reason: `add ${n.id} to etcd as a learner (no vote until caught up)`,
    });
    return;
  }
  if (m.isLearner) {
    if (!learnerCaughtUp(ctx, m)) {
      ctx.hold('R6-replace-order', 'LearnerCatchingUp', `learner of ${n.id} has not started or caught up yet`);
      return;
    }
    const p = projectChange(etcdQuorum(etcd), { add: { healthy: true } });
    if (!p.ok) {
      ctx.hold('R5-projected-quorum', 'QuorumAtRisk', `promoting ${n.id} refused: ${describeProjection('etcd', p)}`);
      return;
    }
    ctx.emit({
      kind: 'etcd.promote',
      instanceId: n.id,
      memberId: m.id,
      rule: 'R6-replace-order',
      reason: `promote the caught-up learner of ${n.id} (${describeProjection('etcd', p)})`,
    });
    return;
  }
  const sw = n.swarm;
  if (!ctx.inv.swarm) {
    ctx.hold(
      'R1-complete-observation',
      'ObservationIncomplete',
      `promoting manager ${n.id} in the swarm waits for the swarm to be observed`,
    );
    return;
  }
  if (!sw || sw.state !== 'ready') {
    ctx.hold('converge', 'WaitingForNodes', `manager ${n.id} has not joined the swarm as a worker yet`);
    return;
  }
  if (sw.role === 'worker') {
    const p = projectChange(swarmQuorum(ctx.inv.swarm), { add: { healthy: true } });
    if (!p.ok) {
      ctx.hold('R5-projected-quorum', 'QuorumAtRisk', `promoting ${n.id} in the swarm refused: ${describeProjection('swarm', p)}`);
      return;
    }
    ctx.emit({
      kind: 'swarm.promote',
      instanceId: n.id,
      nodeId: sw.id,
      rule: 'R6-replace-order',
      reason: `promote ${n.id} to swarm manager (${describeProjection('swarm', p)})`,
    });
  }
}

const MEMBERSHIP_EVIDENCE: ReadonlySet<string> = new Set([
  'etcd.addLearner',
  'etcd.removeMember',
  'swarm.drain',
  'swarm.demote',
  'swarm.removeNode',
]);

/** A finished step of the journal added this instance to etcd or started its removal. */
function journalShowsMembership(ctx: PlanContext, instanceId: string): boolean {
  return ctx.snapshot.operations.some((op) => op.state === 'done' && op.target === instanceId && MEMBERSHIP_EVIDENCE.has(op.stepKind));
}

/** etcd promotes a learner whose log is within 90% of the leader's; unknown indexes: started and healthy. */
export function learnerCaughtUp(ctx: PlanContext, m: EtcdMember): boolean {
  if (!isHealthyMember(m)) return false;
  const etcd = ctx.inv.etcd;
  const leader = etcd?.members.find((x) => x.leader || x.id === etcd.leaderId);
  if (m.raftIndex === undefined || leader?.raftIndex === undefined) return true;
  return m.raftIndex >= leader.raftIndex * 0.9;
}
