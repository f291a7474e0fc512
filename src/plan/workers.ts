// Workers (rules 8, 9, 10, 14): scale up and down, rolling replacement within
// maxSurge/maxUnavailable (the arithmetic Kubernetes Deployments use), remediation of
// dead workers, orphan cleanup. Workers do not vote in either raft, so many worker
// steps may share one plan; each removal is a full rule-8 chain.
import type { PlanContext } from './context.ts';
import { emitRemoval } from './removal-chain.ts';
import { chooseZones, orderVictims, victimReason, zoneOf, zonePopulation } from './choose-victim.ts';
import type { NodeView } from './inventory.ts';
import { emitNewLaunches, resumeLaunches, zonesOf } from './launches.ts';
import { emitOrphanCleanup } from './orphans.ts';
import { remediableNodes } from './remediation.ts';

export function planWorkers(ctx: PlanContext): void {
  const { inv, spec } = ctx;
  if (!inv.instancesOk) {
    ctx.hold('R1-complete-observation', 'ObservationIncomplete', 'the instance list could not be read: workers are left as they are');
    return;
  }
  const workers = inv.workers;
  // Removals under way finish; orphans and strays go.
  for (const n of orderVictims(
    workers.filter((w) => w.removing),
    zonePopulation(workers),
  )) {
    emitRemoval(ctx, n, { rule: 'R8-worker-removal-order', reason: `continue removing worker ${n.id}` });
  }
  for (const n of workers.filter((w) => w.orphan && !w.dead && !w.removing)) emitOrphanCleanup(ctx, n);
  emitStrayWorkerNodes(ctx);

  const swarmReady = inv.swarm?.initialized === true && inv.managers.some((m) => m.fullMember);
  const unseen = resumeLaunches(ctx, 'worker');
  if (!swarmReady) {
    if (spec.workers.count > 0) ctx.hold('converge', 'WaitingForNodes', 'workers wait until the first manager has initialised the swarm');
    return;
  }
  const remediable = remediableNodes(ctx, 'worker');
  for (const n of remediable) {
    emitRemoval(ctx, n, { rule: 'R10-remediation-brakes', reason: `replace unhealthy worker ${n.id} (${n.deadReason ?? ''})` });
  }
  // Dead workers a brake holds keep their place: they are not replaced either (a
  // partition that heals must not find twice the workers).
  const held = workers.filter((w) => w.dead && !w.removing && !remediable.includes(w)).length;
  planWorkerCounts(ctx, workers, unseen + held);
}

/**
 * Counts, Deployment style: `live` are workers neither removing, dead nor orphaned
 * (plus launches not listed yet). Up-to-date nodes beyond `desired` are surplus; while
 * a rollout runs, live may reach desired + maxSurge, and outdated nodes go only while
 * live stays >= desired - maxUnavailable counting unready new nodes as unavailable.
 */
function planWorkerCounts(ctx: PlanContext, workers: readonly NodeView[], unseen: number): void {
  const { spec } = ctx;
  const desired = spec.workers.count;
  const { maxSurge, maxUnavailable } = spec.rollout;
  const live = workers.filter((w) => !w.removing && !w.dead && !w.orphan);
  const current = live.filter((w) => !w.outdated);
  const outdated = live.filter((w) => w.outdated);
  const minReady = Math.max(0, desired - maxUnavailable);
  const population = zonePopulation(live);
  let readyLeft = live.filter((w) => w.ready).length;
  let total = live.length + unseen;

  const surplus = current.length + unseen - desired;
  if (surplus > 0) {
    for (const v of orderVictims(current, population).slice(0, surplus)) {
      if (v.ready && readyLeft - 1 < minReady) {
        ctx.hold('R9-surge-unavailable', 'MaxUnavailable', `scale-down of ${v.id} waits: ready workers would drop below ${minReady}`);
        continue;
      }
      if (v.ready) readyLeft -= 1;
      total -= 1;
      emitRemoval(ctx, v, {
        rule: 'R9-surge-unavailable',
        reason: `scale workers to ${desired}: remove ${v.id} (${victimReason(v)}, zone ${zoneOf(v) || '-'})`,
        minReadyAfter: minReady,
      });
    }
  }
  const rolling = outdated.length > 0;
  const cap = desired + (rolling ? maxSurge : 0);
  const toLaunch = Math.max(0, Math.min(desired - current.length - unseen, cap - total));
  if (toLaunch > 0) {
    emitNewLaunches(ctx, 'worker', {
      reason: rolling
        ? `roll out new worker config (${outdated.length} outdated, maxSurge ${maxSurge})`
        : `scale workers ${total} -> ${desired}`,
      rule: rolling ? 'R9-surge-unavailable' : 'converge',
      zones: chooseZones(zonesOf(ctx), population, toLaunch),
      maxRoleInstances: cap,
    });
  }
  if (!rolling) return;
  const newUnready = current.filter((w) => !w.ready).length + unseen;
  let budget = Math.min(outdated.length, total - minReady - newUnready);
  if (budget <= 0 && toLaunch === 0) {
    ctx.hold(
      'R9-surge-unavailable',
      'RolloutBounded',
      `${outdated.length} outdated worker(s) wait: maxSurge ${maxSurge} and maxUnavailable ${maxUnavailable} allow no more change now`,
    );
    return;
  }
  for (const v of orderVictims(outdated, population)) {
    if (budget <= 0) break;
    if (v.ready && readyLeft - 1 < minReady) break;
    if (v.ready) readyLeft -= 1;
    budget -= 1;
    emitRemoval(ctx, v, {
      rule: 'R9-surge-unavailable',
      reason: `roll out new worker config: replace outdated ${v.id}`,
      minReadyAfter: minReady,
    });
  }
}

/** Labelled worker nodes whose instance is gone (or stale duplicates): remove them. */
function emitStrayWorkerNodes(ctx: PlanContext): void {
  if (!ctx.inv.complete) return;
  for (const n of ctx.inv.straySwarmNodes) {
    if (n.role !== 'worker') continue;
    ctx.emit({
      kind: 'swarm.removeNode',
      nodeId: n.id,
      force: n.state !== 'down',
      rule: 'R14-startup-timeout',
      reason: `swarm node ${n.id} belongs to no live instance`,
    });
  }
}
