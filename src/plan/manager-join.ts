// The join chain of a manager (rule 6): etcd learner, caught up, etcd promote, swarm
// promote. Like the removal chain (removal-chain.ts), it is emitted up to its first
// membership step and re-planned from the observed state each cycle, so it resumes where
// the world is. One exception to the order: while etcd's health window refuses member
// adds (etcd-window.ts), a node already in the swarm as a worker is promoted in the swarm
// first, so its swarm promotion is not on the path after the window.
import type { EtcdMember, EtcdView } from '../model/snapshot.ts';
import { etcdPeerUrl } from '../model/snapshot.ts';
import type { PlanContext } from './context.ts';
import { etcdAddRefusedForMs } from './etcd-window.ts';
import type { NodeView } from './inventory.ts';
import { describeProjection, etcdQuorum, isHealthyMember, projectChange, swarmQuorum } from './quorum.ts';

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
  if (!m) {
    if (swarmFirstWhileEtcdRefuses(ctx, n)) emitSwarmPromotion(ctx, n);
    else emitLearnerAdd(ctx, n, etcd, inst.address);
  } else if (m.isLearner) emitLearnerPromotion(ctx, n, m, etcd);
  else emitSwarmPromotion(ctx, n);
}

/**
 * Whether this joining manager, not an etcd member yet, takes its swarm promotion first:
 * etcd refuses its learner add for a while yet, it is a ready swarm worker, and no other
 * learner waits (that one goes first either way). Both rafts keep the projected-quorum
 * check and the one-change-at-a-time budget; a change the node needs anyway moves into
 * time etcd would spend waiting (and a swarm growing from one manager spends less time
 * at two).
 */
export function swarmFirstWhileEtcdRefuses(ctx: Pick<PlanContext, 'inv' | 'snapshot'>, n: NodeView): boolean {
  const { inv } = ctx;
  if (n.member || n.swarm?.role !== 'worker' || n.swarm.state !== 'ready') return false;
  if (inv.etcd?.members.some((x) => x.isLearner || x.name === '')) return false;
  if (replacingManagers(inv)) return false;
  return etcdAddRefusedForMs(ctx.snapshot.operations, inv.now) > 0;
}

/**
 * Managers beyond the spec's count, outdated or on their way out: a replacement is under
 * way, and rule 6 keeps its order (etcd learner, caught up, promote, then swarm) whatever
 * etcd's window says. The swarm-first exception is for a control plane that grows.
 */
function replacingManagers(inv: PlanContext['inv']): boolean {
  return inv.managers.length > inv.spec.managers.count || inv.managers.some((m) => m.outdated || m.removing);
}

/**
 * A fresh instance gets its learner as soon as it runs: its agent starts etcd while
 * dockerd and the swarm join come up, and etcd's 5 s health window (which gates the
 * NEXT member add) starts that much earlier. A learner has no vote, so one whose node
 * never starts costs no quorum; it turns the node into an orphan (rule 14).
 */
function emitLearnerAdd(ctx: PlanContext, n: NodeView, etcd: EtcdView, address: string): void {
  // An instance the journal shows as a member or on its way out before (a removal cut
  // short after its member went) is re-added only once its agent has joined the swarm
  // as a worker: that proves a live agent, not a stale etcd data dir. Past the
  // journal's memory such a node is an orphan already (launched long ago, not joined).
  if (journalShowsMembership(ctx, n.id) && (!n.swarm || n.swarm.state !== 'ready')) {
    ctx.hold('converge', 'WaitingForNodes', `manager ${n.id} was an etcd member before: re-added once it has joined the swarm as a worker`);
    return;
  }
  const other = etcd.members.find((x) => x.isLearner || x.name === '');
  if (other) {
    ctx.hold('R6-replace-order', 'LearnerInFlight', `adding ${n.id} waits: member ${other.id} is a learner or not started (one at a time)`);
    return;
  }
  ctx.emit({
    kind: 'etcd.addLearner',
    instanceId: n.id,
    peerURL: etcdPeerUrl(address),
    rule: 'R6-replace-order',
    reason: `add ${n.id} to etcd as a learner (no vote until caught up)`,
  });
}

function emitLearnerPromotion(ctx: PlanContext, n: NodeView, m: EtcdMember, etcd: EtcdView): void {
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
}

/**
 * An etcd voter becomes a swarm manager once its agent has joined the swarm as a worker
 * (or, during etcd's health window, a node that is not a member yet: see above).
 */
function emitSwarmPromotion(ctx: PlanContext, n: NodeView): void {
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
  if (sw.role !== 'worker') return;
  const p = projectChange(swarmQuorum(ctx.inv.swarm), { add: { healthy: true } });
  if (!p.ok) {
    ctx.hold('R5-projected-quorum', 'QuorumAtRisk', `promoting ${n.id} in the swarm refused: ${describeProjection('swarm', p)}`);
    return;
  }
  const refusedMs = n.member ? 0 : etcdAddRefusedForMs(ctx.snapshot.operations, ctx.inv.now);
  const why = refusedMs > 0 ? `; etcd refuses member adds for ${(refusedMs / 1000).toFixed(1)} s more, so the swarm goes first` : '';
  ctx.emit({
    kind: 'swarm.promote',
    instanceId: n.id,
    nodeId: sw.id,
    rule: 'R6-replace-order',
    reason: `promote ${n.id} to swarm manager (${describeProjection('swarm', p)})${why}`,
  });
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

/**
 * Managers being added, the one to continue first at the head: one that already has an
 * etcd member (its change is under way), then one whose agent has joined the swarm (it
 * can take its learner now), then the oldest. Several join at once only as booting
 * instances; their membership changes still go one at a time.
 */
export function orderJoining(nodes: readonly NodeView[]): NodeView[] {
  const rank = (n: NodeView): number => (n.member ? 0 : n.swarm?.state === 'ready' && n.instance.state === 'running' ? 1 : 2);
  return [...nodes].sort((a, b) => rank(a) - rank(b) || a.instance.launchedAt - b.instance.launchedAt || (a.id < b.id ? -1 : 1));
}
