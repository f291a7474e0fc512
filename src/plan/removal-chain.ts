// The removal chain of one node. A chain is the node's remaining path, emitted up to and
// including its first membership step (that step's result must be observed before the
// next: rule 3). Re-planned from the observed state each cycle, a chain resumes where
// the world is, so a crash between steps repeats nothing. The add path of a manager is
// the join chain (manager-join.ts).
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
