// Managers: the control plane, one membership change at a time (rules 2-7, 12, 14).
// Each cycle continues the transition already under way, or, when none is, starts the
// most urgent one: clean up orphans and phantoms, remove a dead manager first (rule 6),
// then voluntary changes behind the stable-cluster gate (rule 4): scale up, scale down,
// and rolling replacement add-first (surge) or, with maxSurge 0 and five or more
// managers, remove-first.
import type { PlanContext } from './context.ts';
import { emitDemote, emitManagerJoin, emitMemberRemove, emitRemoval } from './chains.ts';
import { orderVictims, victimReason, zoneOf, zonePopulation, chooseZones } from './choose-victim.ts';
import { inFlightMembershipOps, isJoiningManager, stableClusterGate } from './gates.ts';
import type { NodeView } from './inventory.ts';
import { remediableNodes } from './remediation.ts';
import { describeProjection, isHealthyMember, projectChange, swarmQuorum } from './quorum.ts';
import { emitNewLaunches, resumeLaunches } from './launches.ts';
import { emitOrphanCleanup } from './orphans.ts';

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
  if (mgrs.length === 0) {
    // Join protocol: every manager boots at once. Exactly one wins the create-if-absent
    // init claim and initialises etcd and the swarm; the others wait for their learner
    // entry, so their boot overlaps the first one's instead of following it. Launching
    // changes no raft membership; the joins still go one at a time below.
    const desired = ctx.spec.managers.count;
    emitNewLaunches(ctx, 'manager', {
      reason: `no manager exists: launch ${desired}; the one that claims initialisation creates etcd and the swarm, the others join it`,
      rule: 'converge',
      zones: chooseZones(zonesOf(ctx), new Map(), desired),
      maxRoleInstances: desired,
    });
    return;
  }
  if (!mgrs.some((m) => m.fullMember)) {
    // Nobody initialised within the startup timeout: every manager is an orphan. Clean
    // them up; the next cycle starts from nothing again.
    if (mgrs.every((m) => m.orphan)) {
      for (const m of mgrs) emitOrphanCleanup(ctx, m);
      return;
    }
    // The founder's etcd is up while it still initialises the swarm: the next manager's
    // etcd join needs only that, and starting it now starts etcd's 5 s health window
    // (which spaces member adds) that much sooner. Its swarm promotion waits for the swarm.
    const founder = foundingVoter(ctx);
    const next = founder
      ? orderJoining(mgrs.filter((m) => m !== founder && isJoiningManager(m) && m.member?.isLearner !== false))[0]
      : undefined;
    if (next) {
      emitManagerJoin(ctx, next);
      return;
    }
    ctx.hold(
      'converge',
      'WaitingForNodes',
      `waiting for the first manager to initialise etcd and the swarm (booting: ${mgrs.map((m) => m.id).join(', ')})`,
    );
    return;
  }

  // 1. Dead managers go first: removing one never lowers the healthy count, and a
  //    healthy manager's removal may be waiting for exactly that (rule 6 remove-first).
  const removing = orderVictims(
    mgrs.filter((m) => m.removing),
    zonePopulation(mgrs),
  );
  const deadRemoving = removing.find((m) => m.dead);
  if (deadRemoving) {
    emitRemoval(ctx, deadRemoving, { rule: 'R6-replace-order', reason: `continue removing unhealthy manager ${deadRemoving.id}` });
    return;
  }
  // Phantom members and swarm managers whose instance is gone, when they do not answer:
  // removing them never lowers the healthy count either.
  if (emitStrays(ctx, { unhealthyOnly: true })) return;
  const dead = remediableNodes(ctx, 'manager');
  if (dead[0]) {
    emitRemoval(ctx, dead[0], {
      rule: 'R6-replace-order',
      reason: `replace unhealthy manager ${dead[0].id} (${dead[0].deadReason ?? ''}): remove it first`,
    });
    return;
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
    return;
  }
  // 2. Orphans (never joined) and phantoms: nothing serves on them.
  const orphan = mgrs.find((m) => m.orphan && !m.dead);
  if (orphan) {
    emitOrphanCleanup(ctx, orphan);
    return;
  }
  if (emitStrays(ctx)) return;
  // 3. A manager being added continues its path (rule 6 add-first).
  if (joining[0]) {
    emitManagerJoin(ctx, joining[0]);
    return;
  }
  if (mgrs.some((m) => m.dead)) return; // held by a brake; voluntary changes wait too
  planVoluntary(ctx, mgrs);
}

/**
 * Before any manager is a full member: the manager that initialised etcd, while it is
 * etcd's one voter and healthy (a learner may be joining it). Undefined otherwise.
 */
function foundingVoter(ctx: PlanContext): NodeView | undefined {
  const members = ctx.inv.etcd?.members ?? [];
  const voters = members.filter((m) => !m.isLearner);
  const only = voters.length === 1 ? voters[0] : undefined;
  if (!only || !isHealthyMember(only)) return undefined;
  return ctx.inv.managers.find((m) => m.member?.id === only.id && !m.dead && !m.removing);
}

/**
 * Managers being added, the one to continue first at the head: one that already has an
 * etcd member (its change is under way), then one whose agent has joined the swarm (it
 * can take its learner now), then the oldest. Several join at once only as booting
 * instances; their membership changes still go one at a time.
 */
function orderJoining(nodes: readonly NodeView[]): NodeView[] {
  const rank = (n: NodeView): number => (n.member ? 0 : n.swarm?.state === 'ready' && n.instance.state === 'running' ? 1 : 2);
  return [...nodes].sort((a, b) => rank(a) - rank(b) || a.instance.launchedAt - b.instance.launchedAt || (a.id < b.id ? -1 : 1));
}

function planVoluntary(ctx: PlanContext, mgrs: readonly NodeView[]): void {
  const { spec } = ctx;
  const desired = spec.managers.count;
  const live = mgrs.filter((m) => !m.removing && !m.dead && !m.orphan);
  const outdated = live.filter((m) => m.outdated);
  const wantsChange = live.length !== desired || outdated.length > 0;
  if (!wantsChange) return;
  const unstable = stableClusterGate(ctx.inv);
  if (unstable) {
    ctx.hold('R4-stable-cluster', 'ClusterNotStable', `manager change waits: ${unstable}`);
    return;
  }
  // A launch uses no membership budget, but a voluntary change still starts only once
  // the last membership change's result is in (rule 3): none may be left in the journal.
  const inFlight = inFlightMembershipOps(ctx.snapshot.operations)[0];
  if (inFlight) {
    ctx.hold(
      'R3-one-membership-change',
      'MembershipChangeInFlight',
      `manager change waits: the journal has ${inFlight.stepKind} ${inFlight.target} in flight`,
    );
    return;
  }
  const population = zonePopulation(live);
  if (live.length < desired) {
    // Every missing manager is launched at once (bounded by the deficit): a launch
    // changes no raft membership (context.ts), so the nodes boot in parallel while the
    // changes that do (learner add, promote, swarm promote) still go one at a time
    // through the joining path below, each after the last one's result is observed.
    const deficit = desired - live.length;
    emitNewLaunches(ctx, 'manager', {
      reason: `scale managers ${live.length} -> ${desired}`,
      rule: 'converge',
      zones: chooseZones(zonesOf(ctx), population, deficit),
      maxRoleInstances: desired,
    });
    return;
  }
  if (live.length > desired) {
    const victim = orderVictims(live, population)[0];
    if (victim) {
      const why = victimReason(victim);
      emitRemoval(ctx, victim, {
        rule: 'R9-surge-unavailable',
        reason: `scale managers ${live.length} -> ${desired}: remove ${victim.id} (${why}, zone ${zoneOf(victim) || '-'})`,
        minReadyAfter: minReady(ctx),
      });
    }
    return;
  }
  // Rolling replacement of outdated managers at the desired count. Rule 6 replaces a
  // healthy manager add-first, so managers surge by exactly one even when maxSurge is 0;
  // only with maxSurge 0 and five or more managers is remove-first taken (etcd keeps
  // four voters, never two: rule 2).
  if (removeFirstAllowed(ctx)) {
    const victim = orderVictims(outdated, population)[0];
    if (victim)
      emitRemoval(ctx, victim, {
        rule: 'R9-surge-unavailable',
        reason: `roll out new manager config with maxSurge 0: remove outdated ${victim.id} first`,
        minReadyAfter: minReady(ctx),
      });
    return;
  }
  const next = orderVictims(outdated, population)[0];
  emitNewLaunches(ctx, 'manager', {
    reason:
      next?.control?.request?.action === 'replace'
        ? `replace manager ${next.id} as the operator asked: add first, then remove it`
        : `roll out new manager config (${outdated.length} outdated): add first, then remove ${next?.id ?? ''}`,
    rule: 'R6-replace-order',
    zones: chooseZones(zonesOf(ctx), population, 1),
    maxRoleInstances: desired + 1,
  });
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

/** maxSurge 0 with five or more managers: outdated managers are replaced remove-first. */
function removeFirstAllowed(ctx: PlanContext): boolean {
  return ctx.spec.rollout.maxSurge === 0 && ctx.spec.managers.count >= 5 && ctx.spec.rollout.maxUnavailable >= 1;
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

function minReady(ctx: PlanContext): number {
  return Math.max(1, ctx.spec.managers.count - ctx.spec.rollout.maxUnavailable);
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

export function zonesOf(ctx: PlanContext): readonly string[] {
  return ctx.spec.provider.ec2?.subnetIds ?? ctx.spec.provider.sim?.zones ?? [];
}
