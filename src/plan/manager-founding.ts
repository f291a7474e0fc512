// Founding the control plane: before any manager is a full member (etcd voter and swarm
// manager), the managers are launched together and join the founder one at a time.
import type { PlanContext } from './context.ts';
import { chooseZones } from './choose-victim.ts';
import { isJoiningManager } from './gates.ts';
import type { NodeView } from './inventory.ts';
import { emitNewLaunches, zonesOf } from './launches.ts';
import { emitManagerJoin, orderJoining } from './manager-join.ts';
import { emitOrphanCleanup } from './orphans.ts';
import { isHealthyMember } from './quorum.ts';

/** The managers' plan while none of `mgrs` (maybe none at all) is a full member yet. */
export function planFounding(ctx: PlanContext, mgrs: readonly NodeView[]): void {
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
