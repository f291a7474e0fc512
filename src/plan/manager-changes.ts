// Voluntary manager changes (scale up, scale down, rolling replacement of outdated
// managers), made only when no transition is under way, behind the stable-cluster gate
// (rule 4) and after the last membership change's result is in (rule 3).
import type { PlanContext } from './context.ts';
import { emitRemoval } from './removal-chain.ts';
import { chooseZones, orderVictims, victimReason, zoneOf, zonePopulation } from './choose-victim.ts';
import { inFlightMembershipOps, stableClusterGate } from './gates.ts';
import type { NodeView } from './inventory.ts';
import { emitNewLaunches, zonesOf } from './launches.ts';

export function planVoluntary(ctx: PlanContext, mgrs: readonly NodeView[]): void {
  const desired = ctx.spec.managers.count;
  const live = mgrs.filter((m) => !m.removing && !m.dead && !m.orphan);
  const outdated = live.filter((m) => m.outdated);
  const wantsChange = live.length !== desired || outdated.length > 0;
  if (!wantsChange || voluntaryChangeHeld(ctx)) return;
  if (live.length < desired) scaleUp(ctx, live);
  else if (live.length > desired) scaleDown(ctx, live);
  else rollOutdated(ctx, live, outdated);
}

/** Holds (and says why) while the cluster is unstable or a membership change is in flight. */
function voluntaryChangeHeld(ctx: PlanContext): boolean {
  const unstable = stableClusterGate(ctx.inv);
  if (unstable) {
    ctx.hold('R4-stable-cluster', 'ClusterNotStable', `manager change waits: ${unstable}`);
    return true;
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
    return true;
  }
  return false;
}

/**
 * Every missing manager is launched at once (bounded by the deficit): a launch changes
 * no raft membership (context.ts), so the nodes boot in parallel while the changes that
 * do (learner add, promote, swarm promote) still go one at a time through the joining
 * path, each after the last one's result is observed.
 */
function scaleUp(ctx: PlanContext, live: readonly NodeView[]): void {
  const desired = ctx.spec.managers.count;
  emitNewLaunches(ctx, 'manager', {
    reason: `scale managers ${live.length} -> ${desired}`,
    rule: 'converge',
    zones: chooseZones(zonesOf(ctx), zonePopulation(live), desired - live.length),
    maxRoleInstances: desired,
  });
}

function scaleDown(ctx: PlanContext, live: readonly NodeView[]): void {
  const victim = orderVictims(live, zonePopulation(live))[0];
  if (!victim) return;
  emitRemoval(ctx, victim, {
    rule: 'R9-surge-unavailable',
    reason: `scale managers ${live.length} -> ${ctx.spec.managers.count}: remove ${victim.id} (${victimReason(victim)}, zone ${zoneOf(victim) || '-'})`,
    minReadyAfter: minReady(ctx),
  });
}

/**
 * Rolling replacement of outdated managers at the desired count. Rule 6 replaces a
 * healthy manager add-first, so managers surge by exactly one even when maxSurge is 0;
 * only with maxSurge 0 and five or more managers is remove-first taken (etcd keeps
 * four voters, never two: rule 2).
 */
function rollOutdated(ctx: PlanContext, live: readonly NodeView[], outdated: readonly NodeView[]): void {
  const population = zonePopulation(live);
  const next = orderVictims(outdated, population)[0];
  if (removeFirstAllowed(ctx)) {
    if (next)
      emitRemoval(ctx, next, {
        rule: 'R9-surge-unavailable',
        reason: `roll out new manager config with maxSurge 0: remove outdated ${next.id} first`,
        minReadyAfter: minReady(ctx),
      });
    return;
  }
  emitNewLaunches(ctx, 'manager', {
    reason:
      next?.control?.request?.action === 'replace'
        ? `replace manager ${next.id} as the operator asked: add first, then remove it`
        : `roll out new manager config (${outdated.length} outdated): add first, then remove ${next?.id ?? ''}`,
    rule: 'R6-replace-order',
    zones: chooseZones(zonesOf(ctx), population, 1),
    maxRoleInstances: ctx.spec.managers.count + 1,
  });
}

/** maxSurge 0 with five or more managers: outdated managers are replaced remove-first. */
export function removeFirstAllowed(ctx: PlanContext): boolean {
  return ctx.spec.rollout.maxSurge === 0 && ctx.spec.managers.count >= 5 && ctx.spec.rollout.maxUnavailable >= 1;
}

function minReady(ctx: PlanContext): number {
  return Math.max(1, ctx.spec.managers.count - ctx.spec.rollout.maxUnavailable);
}
