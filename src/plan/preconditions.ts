// checkPrecondition(step, snapshot, now): what the executor re-checks on a FRESH
// observation right before running a step, because the world may have moved since the
// plan. Pure. Three answers: `ok` (run it), `satisfied` (its effect is already there:
// skip it, mark the journal entry done) and `refused` (do not run it; the next cycle
// replans). Checks are the plan's own rules, re-applied to the one step.
import type { EtcdMember, Snapshot, SwarmNode } from '../model/snapshot.ts';
import { urlHost } from '../model/snapshot.ts';
import { inFlightMembershipOps, quorumLostReason } from './gates.ts';
import { buildInventory, type Inventory } from './inventory.ts';
import { describeProjection, etcdQuorum, isHealthyMember, isReachableManager, projectChange, swarmQuorum } from './quorum.ts';
import type { ResolvedSpec } from '../spec/defaults.ts';
import { DESTRUCTIVE_STEP_KINDS, MEMBERSHIP_STEP_KINDS, type RuleId, type Step, type StepKind } from './steps.ts';
import { targetOf } from './targets.ts';
import { drainSettled, learnerCaughtUp } from './chains.ts';
import { PlanContext } from './context.ts';

export type PreconditionResult =
  | { readonly status: 'ok' }
  | { readonly status: 'satisfied'; readonly reason: string }
  | { readonly status: 'refused'; readonly rule: RuleId; readonly reason: string };

const OK: PreconditionResult = { status: 'ok' };
const refuse = (rule: RuleId, reason: string): PreconditionResult => ({ status: 'refused', rule, reason });
const satisfied = (reason: string): PreconditionResult => ({ status: 'satisfied', reason });

/**
 * `spec` is optional: without it the checks that need the spec (the surge bound of a
 * launch, orphan timeouts) fall back to the bounds carried by the step itself.
 */
export function checkPrecondition(step: Step, snapshot: Snapshot, now: number, spec?: ResolvedSpec): PreconditionResult {
  const inv = buildInventory(spec ?? PLACEHOLDER_SPEC, snapshot, now);
  const membership = MEMBERSHIP_STEP_KINDS.has(step.kind);
  if (DESTRUCTIVE_STEP_KINDS.has(step.kind) && !inv.complete) return refuse('R1-complete-observation', 'the observation is incomplete');
  if (membership || DESTRUCTIVE_STEP_KINDS.has(step.kind)) {
    const lost = quorumLostReason(inv, snapshot.publishedClientURLs);
    if (lost) return refuse('R12-quorum-lost-freeze', lost);
  }
  if (membership) {
    const other = inFlightMembershipOps(snapshot.operations).find((op) => !(op.stepKind === step.kind && op.target === targetOf(step)));
    if (other) return refuse('R3-one-membership-change', `the journal has ${other.stepKind} ${other.target} in flight`);
  }
  return checkKind(step, inv, snapshot, now, spec);
}

function checkKind(step: Step, inv: Inventory, snapshot: Snapshot, now: number, spec: ResolvedSpec | undefined): PreconditionResult {
  switch (step.kind) {
    case 'instance.launch':
      return checkLaunch(step, inv, spec);
    case 'instance.terminate': {
      const n = [...inv.managers, ...inv.workers].find((x) => x.id === step.instanceId);
      if (!inv.instancesOk) return refuse('R1-complete-observation', 'the instance list could not be read');
      if (!n) return satisfied(`${step.instanceId} is gone`);
      if (step.final) return checkFinalTerminate(step.instanceId, inv);
      if (n.member)
        return refuse('R7-manager-removal-order', `${step.instanceId} is still etcd member ${n.member.id}: remove the member first`);
      if (n.swarm?.role === 'manager')
        return refuse('R7-manager-removal-order', `${step.instanceId} is still a swarm manager: demote it first`);
      return OK;
    }
    case 'instance.markOrphan':
      return inv.instancesOk && ![...inv.managers, ...inv.workers].some((x) => x.id === step.instanceId)
        ? satisfied(`${step.instanceId} is gone`)
        : OK;
    case 'etcd.addLearner': {
      if (!inv.etcd) return refuse('R1-complete-observation', 'etcd could not be read');
      if (inv.etcd.members.some((m) => m.peerURLs.includes(step.peerURL))) return satisfied(`a member with ${step.peerURL} exists`);
      const other = inv.etcd.members.find((m) => m.isLearner || m.name === '');
      if (other) return refuse('R6-replace-order', `member ${other.id} is a learner or not started: one at a time`);
      const n = inv.managers.find((x) => x.id === step.instanceId);
      if (!n || n.instance.state !== 'running' || n.instance.address !== urlHost(step.peerURL))
        return refuse('R6-replace-order', `${step.instanceId} is not a running manager at ${step.peerURL}`);
      return OK;
    }
    case 'etcd.promote': {
      const m = memberById(inv, step.memberId);
      if (!inv.etcd) return refuse('R1-complete-observation', 'etcd could not be read');
      if (!m) return refuse('R6-replace-order', `member ${step.memberId} does not exist`);
      if (!m.isLearner) return satisfied(`member ${step.memberId} is a voter`);
      if (!learnerCaughtUp(new PlanContext(inv.spec, snapshot, inv, now), m))
        return refuse('R6-replace-order', `learner ${step.memberId} has not caught up`);
      const p = projectChange(etcdQuorum(inv.etcd), { add: { healthy: true } });
      return p.ok ? OK : refuse('R5-projected-quorum', describeProjection('etcd', p));
    }
    case 'etcd.removeMember':
      return checkMemberRemove(step.memberId, inv);
    case 'etcd.moveLeader': {
      const from = memberById(inv, step.fromMemberId);
      const to = memberById(inv, step.toMemberId);
      if (!from || !(from.leader || inv.etcd?.leaderId === from.id)) return satisfied(`member ${step.fromMemberId} is not the leader`);
      if (!to || to.isLearner || !isHealthyMember(to))
        return refuse('R7-manager-removal-order', `member ${step.toMemberId} is not a healthy voter`);
      return OK;
    }
    case 'swarm.promote': {
      const sw = nodeById(inv, step.nodeId);
      if (!sw) return refuse('R6-replace-order', `swarm node ${step.nodeId} does not exist`);
      if (sw.role === 'manager') return satisfied(`${step.nodeId} is a manager`);
      const n = inv.managers.find((x) => x.id === step.instanceId);
      if (!n?.member || n.member.isLearner)
        return refuse('R6-replace-order', `${step.instanceId} is not an etcd voter yet: etcd first, then swarm`);
      if (sw.state !== 'ready' || !inv.swarm) return refuse('R6-replace-order', `${step.nodeId} is not ready`);
      const p = projectChange(swarmQuorum(inv.swarm), { add: { healthy: true } });
      return p.ok ? OK : refuse('R5-projected-quorum', describeProjection('swarm', p));
    }
    case 'swarm.demote': {
      const sw = nodeById(inv, step.nodeId);
      if (!sw || sw.role === 'worker') return satisfied(`${step.nodeId} is not a manager`);
      if (!inv.swarm) return refuse('R1-complete-observation', 'the swarm could not be read');
      const p = projectChange(swarmQuorum(inv.swarm), { remove: { healthy: isReachableManager(sw) } });
      return p.ok ? OK : refuse('R5-projected-quorum', describeProjection('swarm', p));
    }
    case 'swarm.drain': {
      const sw = nodeById(inv, step.nodeId);
      if (!sw) return satisfied(`${step.nodeId} is gone`);
      if (sw.availability === 'drain') return satisfied(`${step.nodeId} is drained`);
      if (step.minReadyAfter !== undefined) {
        const n = [...inv.managers, ...inv.workers].find((x) => x.id === step.instanceId);
        const role = n?.role ?? sw.role;
        const readyOthers = (role === 'manager' ? inv.managers : inv.workers).filter((x) => x.ready && x.id !== step.instanceId).length;
        if (n?.ready && readyOthers < step.minReadyAfter)
          return refuse('R9-surge-unavailable', `only ${readyOthers} other ready ${role}s, maxUnavailable needs ${step.minReadyAfter}`);
      }
      return OK;
    }
    case 'swarm.setAvailability': {
      const sw = nodeById(inv, step.nodeId);
      if (!sw) return refuse('operator-request', `${step.nodeId} is gone`);
      return sw.availability === step.availability ? satisfied(`${step.nodeId} is ${step.availability} already`) : OK;
    }
    case 'cluster.release': {
      if (!inv.instancesOk) return refuse('R1-complete-observation', 'the instance list could not be read');
      const left = [...inv.managers, ...inv.workers];
      return left.length === 0 ? OK : refuse('cascade-delete', `${left.length} instance(s) left (${left.map((n) => n.id).join(', ')})`);
    }
    case 'swarm.activate': {
      const sw = nodeById(inv, step.nodeId);
      if (!sw) return refuse('R2-manager-floor', `${step.nodeId} is gone`);
      return sw.availability === 'active' ? satisfied(`${step.nodeId} is active`) : OK;
    }
    case 'swarm.waitDrained': {
      const sw = nodeById(inv, step.nodeId);
      if (!sw) return satisfied(`${step.nodeId} is gone`);
      return drainSettled(sw) ? satisfied(`${step.nodeId} runs no tasks and its services' tasks run elsewhere`) : OK;
    }
    case 'swarm.removeNode': {
      const sw = nodeById(inv, step.nodeId);
      if (!sw) return satisfied(`${step.nodeId} is gone`);
      if (sw.role === 'manager') return refuse('R7-manager-removal-order', `${step.nodeId} is a manager: demote it first`);
      if (!step.force && sw.state !== 'down') return refuse('R8-worker-removal-order', `${step.nodeId} is not down`);
      if (sw.state === 'ready' && sw.availability !== 'drain')
        return refuse('R8-worker-removal-order', `${step.nodeId} is up and not drained: drain it first`);
      const n = inv.managers.find((x) => x.id === step.instanceId);
      if (n?.member) return refuse('R7-manager-removal-order', `${step.instanceId} is still an etcd member`);
      return OK;
    }
    case 'backup.create':
      // A snapshot is read from one healthy member; the executor picks it.
      return inv.etcd?.members.some((m) => m.healthy === true && !m.isLearner)
        ? OK
        : refuse('R1-complete-observation', 'no healthy etcd voter to take a snapshot from');
    case 'cluster.publishEndpoints': {
      if (!inv.etcd || !inv.swarm) return refuse('R1-complete-observation', 'etcd or the swarm could not be read');
      // Only full members are published: nodes join the swarm through these addresses.
      const full = new Set(inv.managers.flatMap((m) => (m.fullMember ? (m.member?.clientURLs ?? []) : [])));
      const notYet = step.clientURLs.find((u) => !full.has(u));
      return notYet ? refuse('R6-replace-order', `${notYet} is not an etcd voter and swarm manager yet`) : OK;
    }
  }
}

/**
 * A launch may run long after it was planned (a successor resumes it from the journal):
 * besides the bound the plan gave it, it must fit the spec in force now, or a launch
 * planned for a larger cluster would overshoot a smaller one.
 */
function launchBound(step: Extract<Step, { kind: 'instance.launch' }>, spec: ResolvedSpec | undefined): number | undefined {
  if (!spec) return step.maxRoleInstances;
  const cap =
    step.role === 'manager' ? spec.managers.count + Math.max(1, spec.rollout.maxSurge) : spec.workers.count + spec.rollout.maxSurge;
  return Math.min(step.maxRoleInstances ?? cap, cap);
}

function checkLaunch(step: Extract<Step, { kind: 'instance.launch' }>, inv: Inventory, spec: ResolvedSpec | undefined): PreconditionResult {
  if (!inv.instancesOk) return refuse('R1-complete-observation', 'the instance list could not be read');
  const nodes = step.role === 'manager' ? inv.managers : inv.workers;
  if (nodes.some((n) => n.instance.clientToken === step.clientToken)) return satisfied(`instances with token ${step.clientToken} exist`);
  const bound = launchBound(step, spec);
  if (bound !== undefined) {
    const live = nodes.filter((n) => !n.removing && !n.dead && !n.orphan).length;
    if (live + step.count > bound)
      return refuse('R9-surge-unavailable', `${live} live ${step.role}s + ${step.count} would exceed ${bound}`);
  }
  // A manager launch changes no raft membership (the agent waits for its learner entry
  // and joins the swarm as a worker), so managers still joining do not hold it back,
  // not even before the cluster exists: the init claim is create-if-absent, so one
  // manager initialises however many boot together. The count bound above is the guard.
  return OK;
}

/** The last node of a cluster being deleted goes with its rafts, but only as the very last. */
function checkFinalTerminate(instanceId: string, inv: Inventory): PreconditionResult {
  if (inv.spec.deletionRequestedAt === undefined)
    return refuse('cascade-delete', `${instanceId} is terminated with its rafts only when the cluster is being deleted`);
  const others = [...inv.managers, ...inv.workers].filter((n) => n.id !== instanceId);
  return others.length === 0 ? OK : refuse('cascade-delete', `${instanceId} goes last: ${others.length} other instance(s) are left`);
}

function checkMemberRemove(memberId: string, inv: Inventory): PreconditionResult {
  if (!inv.etcd) return refuse('R1-complete-observation', 'etcd could not be read');
  const m = memberById(inv, memberId);
  if (!m) return satisfied(`member ${memberId} is gone`);
  if (m.isLearner) return OK;
  const owner = inv.managers.find((x) => x.member?.id === memberId);
  if (owner?.swarm?.role === 'manager' && !owner.dead)
    return refuse('R7-manager-removal-order', `${owner.id} is still a swarm manager: demote it first`);
  if ((m.leader || inv.etcd.leaderId === m.id) && isHealthyMember(m))
    return refuse('R7-manager-removal-order', `member ${memberId} leads etcd: move leadership first`);
  const p = projectChange(etcdQuorum(inv.etcd), { remove: { healthy: isHealthyMember(m) } });
  return p.ok ? OK : refuse('R5-projected-quorum', describeProjection('etcd', p));
}

function memberById(inv: Inventory, id: string): EtcdMember | undefined {
  return inv.etcd?.members.find((m) => m.id === id);
}

function nodeById(inv: Inventory, id: string): SwarmNode | undefined {
  return inv.swarm?.nodes.find((n) => n.id === id);
}

/** Neutral spec for checks made without one: no hash matches, long timeouts. */
const PLACEHOLDER_SPEC: ResolvedSpec = {
  name: '',
  generation: 0,
  managers: { count: 1, instanceType: '', units: [] },
  workers: { count: 0, instanceType: '', units: [] },
  provider: { sim: {} },
  providerName: 'sim',
  rollout: { maxSurge: 1, maxUnavailable: 1, drainTimeoutSeconds: 300 },
  healing: {
    enabled: true,
    unhealthyAfterSeconds: 86400,
    nodeStartupTimeoutSeconds: 86400,
    maxUnhealthy: 0,
    minHealthySeconds: 0,
    maxRetriesPerNode: 0,
  },
  paused: false,
};

export type { StepKind };
