// Invariants the property suite checks, written independently of the planner's code
// (they look at the simulated world's truth or at raw snapshot fields).
import type { Snapshot } from '../../../src/model/snapshot.ts';
import { etcdClientUrl } from '../../../src/model/snapshot.ts';
import type { Step } from '../../../src/plan/steps.ts';
import { nodeConfigHash } from '../../../src/spec/config-hash.ts';
import type { ResolvedSpec } from '../../../src/spec/defaults.ts';
import type { Role } from '../../../src/spec/schema.ts';
import type { SimWorld } from '../../../src/providers/sim/index.ts';

export interface Violation {
  readonly invariant: string;
  readonly detail: string;
}

function desiredOf(spec: ResolvedSpec, role: Role): number {
  return role === 'manager' ? spec.managers.count : spec.workers.count;
}

/** Serving-or-booting instances of `role` in the world's truth, not being removed. */
function liveInWorld(world: SimWorld, spec: ResolvedSpec, role: Role): number {
  const drained = new Set([...world.swarmNodes.values()].filter((n) => n.availability === 'drain').map((n) => n.instanceId));
  const startup = spec.healing.nodeStartupTimeoutSeconds * 1000;
  return [...world.instances.values()].filter(
    (i) =>
      i.role === role &&
      i.state !== 'terminated' &&
      i.alive &&
      !i.partitioned &&
      !drained.has(i.id) &&
      (i.joinedOnce || i.launchedAt + startup > world.now),
  ).length;
}

/** Checked right before a step runs, against the fresh snapshot its precondition used. */
export function checkStepBounds(world: SimWorld, spec: ResolvedSpec, step: Step, fresh: Snapshot): Violation[] {
  const out: Violation[] = [];
  if (step.kind === 'instance.launch') {
    const live = liveInWorld(world, spec, step.role);
    const cap = desiredOf(spec, step.role) + spec.rollout.maxSurge;
    // Managers are replaced add-first (rule 6): one extra manager even when maxSurge is 0.
    if (live + step.count > (step.role === 'manager' ? desiredOf(spec, 'manager') + 1 : cap)) {
      out.push({
        invariant: 'surge',
        detail: `launching ${step.count} ${step.role} with ${live} live exceeds desired ${desiredOf(spec, step.role)} + maxSurge ${spec.rollout.maxSurge}`,
      });
    }
  }
  if (step.kind === 'swarm.drain' && fresh.swarm.status === 'ok' && fresh.instances.status === 'ok') {
    const roleOf = new Map(fresh.instances.value.map((i) => [i.id, i.role] as const));
    const marked = new Set(fresh.marks.map((m) => m.instanceId));
    const isReady = (n: (typeof fresh.swarm.value.nodes)[number]): boolean => {
      const role = n.instanceId === undefined ? undefined : roleOf.get(n.instanceId);
      if (role === undefined || n.state !== 'ready' || n.availability !== 'active') return false;
      return role === 'worker' ? n.role === 'worker' : n.role === 'manager' && n.reachability === 'reachable';
    };
    const target = fresh.swarm.value.nodes.find((n) => n.id === step.nodeId);
    const role = step.instanceId === undefined ? undefined : roleOf.get(step.instanceId);
    if (target && role && isReady(target) && !marked.has(step.instanceId)) {
      const others = fresh.swarm.value.nodes.filter(
        (n) => n.id !== target.id && n.instanceId !== undefined && roleOf.get(n.instanceId) === role && isReady(n),
      ).length;
      const floor = desiredOf(spec, role) - spec.rollout.maxUnavailable;
      if (others < floor)
        out.push({
          invariant: 'unavailable',
          detail: `draining ready ${role} ${step.instanceId} leaves ${others} ready, below desired ${desiredOf(spec, role)} - maxUnavailable ${spec.rollout.maxUnavailable}`,
        });
    }
  }
  if (MEMBERSHIP_IN_WORLD.has(step.kind)) {
    const learners = [...world.members.values()].filter((m) => m.isLearner);
    if (step.kind === 'etcd.addLearner' && learners.length > 0)
      out.push({ invariant: 'one-membership-change', detail: `adding a learner while ${learners[0]?.id} is one` });
    // The same change asked for again (a resumed step, a deposed leader's repeat) is not a second one.
    const sameChange = (n: { id: string; pendingRole?: { role: string } }): boolean =>
      (step.kind === 'swarm.demote' && n.id === step.nodeId && n.pendingRole?.role === 'worker') ||
      (step.kind === 'swarm.promote' && n.id === step.nodeId && n.pendingRole?.role === 'manager');
    const pending = [...world.swarmNodes.values()].find((n) => n.pendingRole !== undefined && !sameChange(n));
    if (pending)
      out.push({ invariant: 'one-membership-change', detail: `${step.kind} while swarm node ${pending.id} is still changing role` });
  }
  return out;
}

const MEMBERSHIP_IN_WORLD = new Set(['etcd.addLearner', 'etcd.promote', 'etcd.removeMember', 'swarm.promote', 'swarm.demote']);

/** What "converged" means, from the world's truth. Returns the problems (none: converged). */
/** `published`: the etcd client URLs keys.endpoints holds in the management store. */
export function checkConverged(world: SimWorld, spec: ResolvedSpec, cluster: string, published: readonly string[] | undefined): string[] {
  const problems: string[] = [];
  const live = [...world.instances.values()].filter((i) => i.cluster === cluster && i.state !== 'terminated');
  const hash = { manager: nodeConfigHash(spec, 'manager'), worker: nodeConfigHash(spec, 'worker') };
  for (const role of ['manager', 'worker'] as const) {
    const mine = live.filter((i) => i.role === role);
    if (mine.length !== desiredOf(spec, role)) problems.push(`${mine.length} ${role} instances, want ${desiredOf(spec, role)}`);
    const bad = mine.filter((i) => !i.alive || i.state !== 'running' || i.configHash !== hash[role]);
    if (bad.length > 0) problems.push(`${role}s dead or outdated: ${bad.map((i) => i.id).join(', ')}`);
  }
  const nodeOf = new Map([...world.swarmNodes.values()].map((n) => [n.instanceId, n] as const));
  for (const i of live) {
    const n = nodeOf.get(i.id);
    if (!n || n.role !== i.role || n.availability !== 'active') problems.push(`${i.id} is not an active swarm ${i.role}`);
  }
  for (const n of world.swarmNodes.values())
    if (!live.some((i) => i.id === n.instanceId)) problems.push(`swarm node ${n.id} belongs to no live instance`);
  const voters = [...world.members.values()];
  const managerAddresses = new Set(live.filter((i) => i.role === 'manager').map((i) => i.address));
  if (voters.length !== desiredOf(spec, 'manager') || voters.some((m) => m.isLearner))
    problems.push(`etcd has ${voters.length} members (learners: ${voters.filter((m) => m.isLearner).length})`);
  for (const m of voters)
    if (!managerAddresses.has(/^http:\/\/([^:]+):/.exec(m.peerURL)?.[1])) problems.push(`etcd member ${m.id} belongs to no live manager`);
  const want = voters.map((m) => etcdClientUrl(/^http:\/\/([^:]+):/.exec(m.peerURL)?.[1] ?? '')).sort();
  if (JSON.stringify([...(published ?? [])].sort()) !== JSON.stringify(want))
    problems.push('published endpoints differ from the etcd voters');
  if (!world.etcdQuorumHeld() || !world.swarmQuorumHeld()) problems.push('a raft has no quorum');
  return problems;
}
