// Quorum arithmetic for both rafts (design rules 5 and 12). A member counts as healthy
// only when it was asked this cycle and answered (healthy === true); "unknown" counts
// as unhealthy, so a projection errs towards refusing a change.
import type { EtcdMember, EtcdView, SwarmNode, SwarmView } from '../model/snapshot.ts';

/** Votes a raft of `voters` members needs to make progress. */
export function quorumOf(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

export function etcdVoters(view: EtcdView): EtcdMember[] {
  return view.members.filter((m) => !m.isLearner);
}

export function isHealthyMember(m: EtcdMember): boolean {
  return m.healthy === true && m.name !== '';
}

export function swarmManagers(view: SwarmView): SwarmNode[] {
  return view.nodes.filter((n) => n.role === 'manager');
}

/**
 * A manager that counts towards swarm quorum: reachable in the raft and its node ready.
 * The leader counts while its node still reads 'unknown': the dispatcher marks every
 * node so until it registers (right after `swarm init`, and after a leader change), and
 * the node list just read was served through the leader, so it is answering.
 */
export function isReachableManager(n: SwarmNode): boolean {
  if (n.role !== 'manager' || n.reachability !== 'reachable') return false;
  return n.state === 'ready' || (n.state === 'unknown' && n.leader);
}

export interface QuorumState {
  readonly voters: number;
  readonly healthy: number;
  readonly need: number;
  readonly held: boolean;
}

export function etcdQuorum(view: EtcdView): QuorumState {
  const voters = etcdVoters(view);
  const healthy = voters.filter(isHealthyMember).length;
  const need = quorumOf(voters.length);
  return { voters: voters.length, healthy, need, held: voters.length === 0 || healthy >= need };
}

export function swarmQuorum(view: SwarmView): QuorumState {
  const managers = swarmManagers(view);
  const healthy = managers.filter(isReachableManager).length;
  const need = quorumOf(managers.length);
  return { voters: managers.length, healthy, need, held: managers.length === 0 || healthy >= need };
}

/** How many more healthy voters may fail before quorum is lost; undefined for no voters. */
export function quorumMargin(q: QuorumState): number | undefined {
  return q.voters === 0 ? undefined : q.healthy - q.need;
}

export interface Projection {
  readonly ok: boolean;
  readonly healthyAfter: number;
  readonly votersAfter: number;
  readonly need: number;
}

/**
 * Rule 5: healthy voters after the change >= quorum of the new voting set. `add` is the
 * health of a voter being added (a learner being promoted counts healthy only when it
 * has started and caught up; anything else counts unhealthy); `remove` says whether
 * the voter being removed is healthy. Removing the last voter is never ok (rule 2).
 */
export function projectChange(q: QuorumState, change: { add?: { healthy: boolean }; remove?: { healthy: boolean } }): Projection {
  let voters = q.voters;
  let healthy = q.healthy;
  if (change.add) {
    voters += 1;
    if (change.add.healthy) healthy += 1;
  }
  if (change.remove) {
    voters -= 1;
    if (change.remove.healthy) healthy -= 1;
  }
  const need = quorumOf(voters);
  return { ok: voters >= 1 && healthy >= need, healthyAfter: healthy, votersAfter: voters, need };
}

export function describeProjection(raft: 'etcd' | 'swarm', p: Projection): string {
  return `${raft}: ${p.healthyAfter} healthy of ${p.votersAfter} voters after the change, quorum needs ${p.need}`;
}
