// The narrow etcd membership interface the core uses (Cluster API keeps the etcd client
// library out of its core the same way). The etcd3 adapter (etcd-membership.ts) and the
// simulator implement it. Errors: SwarmkeeperError; `Unavailable` includes etcd's
// "unhealthy cluster" refusal in the first seconds after members connect, which callers
// retry with backoff (measured with etcd 3.4: about 5 s).
import type { EtcdMember, EtcdView } from '../model/snapshot.ts';

export interface EtcdMembershipApi {
  /** Members plus per-member health, leader and alarms, asking every member. */
  view(): Promise<EtcdView>;
  listMembers(): Promise<EtcdMember[]>;
  /** Adds a non-voting learner; returns its member id. */
  addLearner(peerURLs: readonly string[]): Promise<string>;
  /** Promotes a learner; fails with Precondition until it has caught up. */
  promote(memberId: string): Promise<void>;
  /** Removes a member, through a member other than the one removed. */
  removeMember(memberId: string): Promise<void>;
  /** Moves leadership to `toMemberId` (asks the current leader). */
  moveLeader(toMemberId: string): Promise<void>;
  close(): Promise<void>;
}
