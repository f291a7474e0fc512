// Re-checks of the etcd membership steps and of the steps that read etcd's members
// (backups, the published endpoints).
import { urlHost } from '../model/snapshot.ts';
import { learnerCaughtUp } from './manager-join.ts';
import { PlanContext } from './context.ts';
import type { Inventory } from './inventory.ts';
import { describeProjection, etcdQuorum, isHealthyMember, projectChange } from './quorum.ts';
import { OK, memberById, refuse, satisfied, type KindChecks, type PreconditionResult } from './precondition-verdicts.ts';

export const ETCD_CHECKS: KindChecks<
  'etcd.addLearner' | 'etcd.promote' | 'etcd.removeMember' | 'etcd.moveLeader' | 'backup.create' | 'cluster.publishEndpoints'
> = {
  'etcd.addLearner': (step, { inv }) => {
    if (!inv.etcd) return refuse('R1-complete-observation', 'etcd could not be read');
    if (inv.etcd.members.some((m) => m.peerURLs.includes(step.peerURL))) return satisfied(`a member with ${step.peerURL} exists`);
    const other = inv.etcd.members.find((m) => m.isLearner || m.name === '');
    if (other) return refuse('R6-replace-order', `member ${other.id} is a learner or not started: one at a time`);
    const n = inv.managers.find((x) => x.id === step.instanceId);
    if (!n || n.instance.state !== 'running' || n.instance.address !== urlHost(step.peerURL))
      return refuse('R6-replace-order', `${step.instanceId} is not a running manager at ${step.peerURL}`);
    return OK;
  },
  'etcd.promote': (step, { inv, snapshot, now }) => {
    const m = memberById(inv, step.memberId);
    if (!inv.etcd) return refuse('R1-complete-observation', 'etcd could not be read');
    if (!m) return refuse('R6-replace-order', `member ${step.memberId} does not exist`);
    if (!m.isLearner) return satisfied(`member ${step.memberId} is a voter`);
    if (!learnerCaughtUp(new PlanContext(inv.spec, snapshot, inv, now), m))
      return refuse('R6-replace-order', `learner ${step.memberId} has not caught up`);
    const p = projectChange(etcdQuorum(inv.etcd), { add: { healthy: true } });
    return p.ok ? OK : refuse('R5-projected-quorum', describeProjection('etcd', p));
  },
  'etcd.removeMember': (step, { inv }) => checkMemberRemove(step.memberId, inv),
  'etcd.moveLeader': (step, { inv }) => {
    const from = memberById(inv, step.fromMemberId);
    const to = memberById(inv, step.toMemberId);
    if (!from || !(from.leader || inv.etcd?.leaderId === from.id)) return satisfied(`member ${step.fromMemberId} is not the leader`);
    if (!to || to.isLearner || !isHealthyMember(to))
      return refuse('R7-manager-removal-order', `member ${step.toMemberId} is not a healthy voter`);
    return OK;
  },
  // A snapshot is read from one healthy member; the executor picks it.
  'backup.create': (_step, { inv }) =>
    inv.etcd?.members.some((m) => m.healthy === true && !m.isLearner)
      ? OK
      : refuse('R1-complete-observation', 'no healthy etcd voter to take a snapshot from'),
  'cluster.publishEndpoints': (step, { inv }) => {
    if (!inv.etcd || !inv.swarm) return refuse('R1-complete-observation', 'etcd or the swarm could not be read');
    // Only full members are published: nodes join the swarm through these addresses.
    const full = new Set(inv.managers.flatMap((m) => (m.fullMember ? (m.member?.clientURLs ?? []) : [])));
    const notYet = step.clientURLs.find((u) => !full.has(u));
    return notYet ? refuse('R6-replace-order', `${notYet} is not an etcd voter and swarm manager yet`) : OK;
  },
};

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
