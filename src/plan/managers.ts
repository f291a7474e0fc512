// Managers: the control plane, one membership change at a time (rules 2-7, 12, 14).
// Each cycle continues the transition already under way, or, when none is, starts the
// most urgent one: clean up orphans and phantoms, remove a dead manager first (rule 6),
// then voluntary changes behind the stable-cluster gate (rule 4): scale up, scale down,
// and rolling replacement add-first (surge) or, with maxSurge 0 and five or more
// managers, remove-first (manager-changes.ts). Founding the control plane is
// manager-founding.ts.
import type { PlanContext } from './context.ts';
import { emitDemote, emitMemberRemove, emitRemoval } from './removal-chain.ts';
import { orderVictims, zonePopulation } from './choose-victim.ts';
import { isJoiningManager } from './gates.ts';
import type { NodeView } from './inventory.ts';
import { remediableNodes } from './remediation.ts';
import { describeProjection, projectChange, swarmQuorum } from './quorum.ts';
import { resumeLaunches } from './launches.ts';
import { emitOrphanCleanup } from './orphans.ts';
import { planFounding } from './manager-founding.ts';
import { emitManagerJoin, orderJoining } from './manager-join.ts';
import { planVoluntary, removeFirstAllowed } from './manager-changes.ts';

export function planManagers(ctx: PlanContext): void {
  const { inv } = ctx;
  if (!inv.instancesOk) {
    ctx.hold('R1-complete-observation', 'ObservationIncomplete', 'the instance list could not be read: managers are left as they are');
    return;
  }
  if (resumeLaunches(ctx, 'manager') > 0) {
    // Nothing else moves while a launch is unaccounted for, but the status still says
    // when remediation would be braked (maxUnhealthy: maybe a partition).
    remediableNodes(ctx, 'manager');
    return;
  }
  const mgrs = inv.managers;
  if (!mgrs.some((m) => m.fullMember)) {
    planFounding(ctx, mgrs);
    return;
  }
  if (continueTransition(ctx, mgrs)) return;
  if (mgrs.some((m) => m.dead)) return; // held by a brake; voluntary changes wait too
  planVoluntary(ctx, mgrs);
}

/**
 * The transition under way, most urgent first. Returns true when it emitted or held
 * something (then nothing voluntary starts this cycle).
 */
function continueTransition(ctx: PlanContext, mgrs: readonly NodeView[]): boolean {
  // 1. Dead managers go first: removing one never lowers the healthy count, and a
  //    healthy manager's removal may be waiting for exactly that (rule 6 remove-first).
  const removing = orderVictims(
    mgrs.filter((m) => m.removing),
    zonePopulation(mgrs),
  );
  const deadRemoving = removing.find((m) => m.dead);
  if (deadRemoving) {
    emitRemoval(ctx, deadRemoving, { rule: 'R6-replace-order', reason: `continue removing unhealthy manager ${deadRemoving.id}` });
    return true;
  }
  // Phantom members and swarm managers whose instance is gone, when they do not answer:
  // removing them never lowers the healthy count either.
  if (emitStrays(ctx, { unhealthyOnly: true })) return true;
  const dead = remediableNodes(ctx, 'manager');
  if (dead[0]) {
    emitRemoval(ctx, dead[0], {
      rule: 'R6-replace-order',
      reason: `replace unhealthy manager ${dead[0].id} (${dead[0].deadReason ?? ''}): remove it first`,
    });
    return true;
  }
  // 1b. A removal already started finishes (it may be half-way through rule 7), unless
  //     the spec wants the manager back.
  const joining = orderJoining(mgrs.filter(isJoiningManager));
  if (removing[0]) {
    const before = ctx.steps.length;
    if (removalNoLongerWanted(ctx, removing[0])) emitCancelRemoval(ctx, removing[0]);
    else emitRemoval(ctx, removing[0], { rule: 'R7-manager-removal-order', reason: `continue removing manager ${removing[0].id}` });
    // A held removal may be waiting for exactly the manager being added (rule 2: not
    // two managers on the way): that one finishes joining meanwhile.
    if (ctx.steps.length === before && joining[0]) emitManagerJoin(ctx, joining[0]);
    return true;
  }
  // 2. Orphans (never joined) and phantoms: nothing serves on them.
  const orphan = mgrs.find((m) => m.orphan && !m.dead);
  if (orphan) {
    emitOrphanCleanup(ctx, orphan);
    return true;
  }
  if (emitStrays(ctx)) return true;
  // 3. A manager being added continues its path (rule 6 add-first).
  if (joining[0]) {
    emitManagerJoin(ctx, joining[0]);
    return true;
  }
  return false;
}

/**
 * A healthy etcd voter half-way out while the spec wants more managers than
 * are left: finishing would shrink etcd towards two members on the way back up (rule 2),
 * so the removal is undone instead.
 */
function removalNoLongerWanted(ctx: PlanContext, n: NodeView): boolean {
  const m = n.member;
  // Outdated or not: keeping a healthy voter and rolling it later add-first is safer
  // than finishing a removal that takes etcd down towards two members.
  if (n.dead || n.orphan || !m || m.isLearner || m.healthy !== true) return false;
  const desired = ctx.spec.managers.count;
  const votersAfter = (ctx.inv.etcd?.members.filter((x) => !x.isLearner).length ?? 0) - 1;
  if (votersAfter <= 2 && desired !== 1) return true;
  const staying = ctx.inv.managers.filter((x) => !x.removing && !x.dead && !x.orphan).length;
  return staying < desired && !removeFirstAllowed(ctx);
}

function emitCancelRemoval(ctx: PlanContext, n: NodeView): void {
  const sw = n.swarm;
  if (!sw || !ctx.inv.swarm) return;
  if (sw.role === 'worker') {
    const p = projectChange(swarmQuorum(ctx.inv.swarm), { add: { healthy: sw.state === 'ready' } });
    if (!p.ok) {
      ctx.hold('R5-projected-quorum', 'QuorumAtRisk', `re-promoting ${n.id} refused: ${describeProjection('swarm', p)}`);
      return;
    }
    ctx.emit({
      kind: 'swarm.promote',
      instanceId: n.id,
      nodeId: sw.id,
      rule: 'R2-manager-floor',
      reason: `the spec wants ${ctx.spec.managers.count} managers again: undo the removal of ${n.id} (swarm manager again)`,
    });
    return;
  }
  ctx.emit({
    kind: 'swarm.activate',
    instanceId: n.id,
    nodeId: sw.id,
    rule: 'R2-manager-floor',
    reason: `the spec wants ${ctx.spec.managers.count} managers again: undo the removal of ${n.id} (availability active)`,
  });
}

/** Phantom etcd members and swarm nodes whose instance is gone (rule 6, rule 14). */
function emitStrays(ctx: PlanContext, opts: { unhealthyOnly?: boolean } = {}): boolean {
  const { inv } = ctx;
  if (!inv.complete) return false;
  const member = inv.strayMembers.find((m) => !opts.unhealthyOnly || m.healthy !== true);
  if (member) {
    emitMemberRemove(ctx, member, undefined, member.healthy !== true);
    return true;
  }
  const strayManager = inv.straySwarmNodes.find((n) => n.role === 'manager' && (!opts.unhealthyOnly || n.reachability !== 'reachable'));
  if (strayManager) {
    emitDemote(ctx, strayManager, strayManager.instanceId, strayManager.reachability !== 'reachable');
    return true;
  }
  return false;
}
