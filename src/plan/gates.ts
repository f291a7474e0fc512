// Gates: conditions a class of changes must pass, each returning the reason it is
// closed (or undefined when open), so a held-back change can always say why.
import type { Operation } from '../model/snapshot.ts';
import { MEMBERSHIP_STEP_KINDS, type StepKind } from './steps.ts';
import type { Inventory, NodeView } from './inventory.ts';
import { etcdQuorum, isReachableManager, swarmManagers, swarmQuorum } from './quorum.ts';

/**
 * Rule 4, the stable-cluster gate before any voluntary control-plane change: etcd
 * members = manager instances = swarm managers; every member reports the same member
 * list; no alarms; no learner or unstarted member; every swarm manager reachable and a
 * leader present; nothing terminating.
 */
export function stableClusterGate(inv: Inventory): string | undefined {
  if (!inv.complete || !inv.etcd || !inv.swarm) return 'the observation is incomplete';
  const members = inv.etcd.members;
  const managers = inv.managers;
  const swarmMgrs = swarmManagers(inv.swarm);
  if (members.length !== managers.length || swarmMgrs.length !== managers.length) {
    return `etcd members (${members.length}), manager instances (${managers.length}) and swarm managers (${swarmMgrs.length}) differ`;
  }
  const ids = members
    .map((m) => m.id)
    .sort()
    .join(',');
  const disagreeing = members.find((m) => m.reportedMembers !== undefined && [...m.reportedMembers].sort().join(',') !== ids);
  if (disagreeing) return `etcd member ${disagreeing.id} reports a different member list`;
  if (inv.etcd.alarms.length > 0) return `etcd alarms active: ${inv.etcd.alarms.join(', ')}`;
  const learner = members.find((m) => m.isLearner || m.name === '');
  if (learner) return `etcd member ${learner.id} is a learner or has not started`;
  const unhealthy = members.find((m) => m.healthy !== true);
  if (unhealthy) return `etcd member ${unhealthy.id} is not healthy`;
  const unreachable = swarmMgrs.find((n) => !isReachableManager(n));
  if (unreachable) return `swarm manager ${unreachable.id} is not reachable`;
  if (!swarmMgrs.some((n) => n.leader)) return 'the swarm has no leader';
  if (inv.etcd.leaderId === undefined && !members.some((m) => m.leader)) return 'etcd has no leader';
  const terminating = [...inv.managers, ...inv.workers].find(
    (n) => n.instance.state === 'shutting-down' || n.instance.state === 'stopping',
  );
  if (terminating) return `instance ${terminating.id} is terminating`;
  return undefined;
}

/**
 * Rule 12: a raft that lost quorum freezes every membership change. `publishedClientURLs`
 * (keys.endpoints) says the cluster was founded: when every manager instance is then
 * stopped or terminated and no etcd voter answers healthy, no member is left to
 * report a member list, and that is a loss too, not a cluster still booting.
 */
export function quorumLostReason(inv: Inventory, publishedClientURLs?: readonly string[]): string | undefined {
  const founded = (publishedClientURLs?.length ?? 0) > 0;
  // Stopped machines only: a manager being terminated on purpose (the last one of a
  // deletion) is not a loss.
  const allDead = inv.managers.length > 0 && inv.managers.every((m) => m.instance.state === 'stopped' || m.instance.state === 'terminated');
  if (founded && allDead && (!inv.etcd || etcdQuorum(inv.etcd).healthy === 0)) {
    return `every manager is dead (${inv.managers.map((m) => `${m.id} ${m.instance.state}`).join(', ')}) and no etcd member answers`;
  }
  if (inv.etcd) {
    const q = etcdQuorum(inv.etcd);
    if (!q.held) return `etcd has ${q.healthy} healthy of ${q.voters} voting members, quorum needs ${q.need}`;
  }
  if (inv.swarm) {
    const q = swarmQuorum(inv.swarm);
    if (!q.held) return `swarm has ${q.healthy} reachable of ${q.voters} managers, quorum needs ${q.need}`;
  }
  return undefined;
}

/** Membership operations the journal holds as pending or running (rule 3, rule 13). */
export function inFlightMembershipOps(operations: readonly Operation[]): Operation[] {
  return operations.filter(
    (op) => (op.state === 'pending' || op.state === 'running') && MEMBERSHIP_STEP_KINDS.has(op.stepKind as StepKind),
  );
}

/**
 * A manager part-way through being added: launched but not yet an etcd voter and swarm
 * manager. Its own next steps are the change in flight (rule 3).
 */
export function isJoiningManager(n: NodeView): boolean {
  return n.role === 'manager' && !n.removing && !n.fullMember && !n.dead && !n.orphan;
}
