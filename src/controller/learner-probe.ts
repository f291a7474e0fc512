// etcd 3.4 refuses every RPC on a learner except Status and serializable Range ("rpc
// not supported for learner"), so a probe that also lists members from the learner sees
// it as unhealthy forever, and the planner then waits for a catch-up it can never see.
// This decorator re-probes learners that the view reports unhealthy with Status alone
// (which learners answer): healthy when the learner knows a leader, plus its raft index
// for the caught-up check. Voters are left exactly as the adapter reported them.
import { Etcd3 } from 'etcd3';
import type { EtcdMembershipApi } from '../etcd/port.ts';
import type { EtcdMember, EtcdView } from '../observe/snapshot.ts';
import { withTimeout } from '../observe/with-timeout.ts';

export function withLearnerStatusProbe(api: EtcdMembershipApi, timeoutMs = 2000): EtcdMembershipApi {
  return {
    view: async () => reprobeLearners(await api.view(), timeoutMs),
    listMembers: () => api.listMembers(),
    addLearner: (peerURLs) => api.addLearner(peerURLs),
    promote: (id) => api.promote(id),
    removeMember: (id) => api.removeMember(id),
    moveLeader: (id) => api.moveLeader(id),
    close: () => api.close(),
  };
}

async function reprobeLearners(view: EtcdView, timeoutMs: number): Promise<EtcdView> {
  if (!view.members.some(needsProbe)) return view;
  const members = await Promise.all(view.members.map((m) => (needsProbe(m) ? probeLearner(m, timeoutMs) : m)));
  return { ...view, members };
}

function needsProbe(m: EtcdMember): boolean {
  return m.isLearner && m.healthy !== true && m.name !== '' && m.clientURLs.length > 0;
}

async function probeLearner(m: EtcdMember, timeoutMs: number): Promise<EtcdMember> {
  const client = new Etcd3({ hosts: [...m.clientURLs], dialTimeout: timeoutMs });
  try {
    const status = await withTimeout(client.maintenance.status(), timeoutMs, `etcd learner ${m.id}`);
    const hasLeader = status.leader !== '0' && status.leader !== '';
    if (!hasLeader || BigInt(status.header.member_id) !== BigInt(m.id)) return m;
    return { ...m, healthy: true, raftIndex: Number(status.raftIndex) };
  } catch {
    return m;
  } finally {
    client.close();
  }
}
