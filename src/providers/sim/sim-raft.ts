// The two rafts of the simulated world (etcd and swarm managers): who can be reached,
// whether each raft holds its quorum, and who leads it. Plain functions over the
// world's state, so the quorum arithmetic reads apart from the world's bookkeeping.
import type { SimInstance, SimMember } from './model.ts';
import type { SimState } from './state.ts';

type RaftState = Pick<SimState, 'instances' | 'members' | 'swarmNodes' | 'etcdLeaderId' | 'swarmLeaderId'>;

/** A node the controller (on the majority side) can talk to. */
export function isReachable(instances: ReadonlyMap<string, SimInstance>, instanceId: string | undefined): boolean {
  const inst = instanceId === undefined ? undefined : instances.get(instanceId);
  return inst !== undefined && inst.alive && !inst.partitioned && !inst.frozen && inst.state === 'running';
}

export function instanceOfAddress(instances: ReadonlyMap<string, SimInstance>, address: string): SimInstance | undefined {
  for (const i of instances.values()) if (i.address === address && i.state !== 'terminated') return i;
  return undefined;
}

/** A started member whose node is reachable. */
export function isMemberHealthy(instances: ReadonlyMap<string, SimInstance>, m: SimMember): boolean {
  if (m.startedAt === undefined) return false;
  const host = /^http:\/\/([^:]+):/.exec(m.peerURL)?.[1] ?? '';
  return isReachable(instances, instanceOfAddress(instances, host)?.id);
}

export function etcdQuorumHeld(state: RaftState): boolean {
  const voters = [...state.members.values()].filter((m) => !m.isLearner);
  if (voters.length === 0) return true;
  return voters.filter((m) => isMemberHealthy(state.instances, m)).length >= Math.floor(voters.length / 2) + 1;
}

export function swarmQuorumHeld(state: RaftState): boolean {
  const managers = [...state.swarmNodes.values()].filter((n) => n.role === 'manager');
  if (managers.length === 0) return true;
  return managers.filter((n) => isReachable(state.instances, n.instanceId)).length >= Math.floor(managers.length / 2) + 1;
}

/** Keeps a healthy leader; otherwise the lowest healthy voter leads, or nobody without quorum. */
export function electLeaders(state: RaftState): void {
  if (!etcdQuorumHeld(state)) state.etcdLeaderId = undefined;
  else {
    const cur = state.etcdLeaderId === undefined ? undefined : state.members.get(state.etcdLeaderId);
    if (!cur || cur.isLearner || !isMemberHealthy(state.instances, cur)) {
      state.etcdLeaderId = [...state.members.values()]
        .filter((m) => !m.isLearner && isMemberHealthy(state.instances, m))
        .map((m) => m.id)
        .sort()[0];
    }
  }
  if (!swarmQuorumHeld(state)) state.swarmLeaderId = undefined;
  else {
    const cur = state.swarmLeaderId === undefined ? undefined : state.swarmNodes.get(state.swarmLeaderId);
    if (!cur || cur.role !== 'manager' || !isReachable(state.instances, cur.instanceId)) {
      state.swarmLeaderId = [...state.swarmNodes.values()]
        .filter((n) => n.role === 'manager' && isReachable(state.instances, n.instanceId))
        .map((n) => n.id)
        .sort()[0];
    }
  }
}
