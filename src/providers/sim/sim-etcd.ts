// The sim EtcdMembershipApi. Like etcd 3.4: membership changes need a leader, are
// refused for a few seconds after a member started ("unhealthy cluster"), at most one
// learner exists, and promotion fails until the learner caught up. Unlike etcd's
// strict reconfig check, a removal that costs quorum is NOT refused: the world records
// the loss, so a planner bug shows instead of being masked.
import type { EtcdMember, EtcdView } from '../../model/snapshot.ts';
import { SwarmkeeperError } from '../../errors.ts';
import type { EtcdMembershipApi } from '../../etcd/port.ts';
import type { SimMember } from './model.ts';
import type { SimState } from './state.ts';

export class SimEtcd implements EtcdMembershipApi {
  constructor(private readonly world: SimState) {}

  async view(): Promise<EtcdView> {
    this.requireAnyMember('reading etcd status');
    const members = this.members();
    return { members, ...(this.world.etcdLeaderId === undefined ? {} : { leaderId: this.world.etcdLeaderId }), alarms: [] };
  }

  async listMembers(): Promise<EtcdMember[]> {
    this.requireAnyMember('listing etcd members');
    return this.members();
  }

  async addLearner(peerURLs: readonly string[]): Promise<string> {
    const w = this.world;
    this.requireLeader('adding an etcd learner', { settled: true });
    const url = peerURLs[0] ?? '';
    if ([...w.members.values()].some((m) => m.peerURL === url))
      throw new SwarmkeeperError('Conflict', 'adding an etcd learner: etcdserver: Peer URLs already exists');
    if ([...w.members.values()].some((m) => m.isLearner))
      throw new SwarmkeeperError('Conflict', 'adding an etcd learner: etcdserver: too many learner members in cluster');
    const host = /^http:\/\/([^:]+):/.exec(url)?.[1] ?? '';
    const m = w.addMember(host, { learner: true, started: false, name: '' });
    w.afterChange('controller', `etcd learner ${m.id} added`);
    w.maybeLoseResponse('adding an etcd learner');
    return m.id;
  }

  async promote(memberId: string): Promise<void> {
    const w = this.world;
    this.requireLeader(`promoting etcd member ${memberId}`);
    const m = this.member(memberId);
    if (!m.isLearner)
      throw new SwarmkeeperError('Conflict', `promoting etcd member ${memberId}: etcdserver: can only promote a learner member`);
    if (m.caughtUpAt === undefined || m.caughtUpAt > w.now || !w.memberHealthy(m)) {
      throw new SwarmkeeperError(
        'Precondition',
        `promoting etcd member ${memberId}: etcdserver: can only promote a learner member which is in sync with leader`,
      );
    }
    m.isLearner = false;
    w.afterChange('controller', `etcd member ${memberId} promoted`);
    w.maybeLoseResponse(`promoting etcd member ${memberId}`);
  }

  async removeMember(memberId: string): Promise<void> {
    const w = this.world;
    this.requireLeader(`removing etcd member ${memberId}`, { settled: true });
    this.member(memberId);
    w.members.delete(memberId);
    if (w.etcdLeaderId === memberId) w.etcdLeaderId = undefined;
    w.afterChange('controller', `etcd member ${memberId} removed`);
    w.maybeLoseResponse(`removing etcd member ${memberId}`);
  }

  async moveLeader(toMemberId: string): Promise<void> {
    const w = this.world;
    this.requireLeader(`moving etcd leadership to ${toMemberId}`);
    const m = this.member(toMemberId);
    if (m.isLearner || !w.memberHealthy(m))
      throw new SwarmkeeperError('Precondition', `moving etcd leadership to ${toMemberId}: not a healthy voter`);
    w.etcdLeaderId = m.id;
  }

  async close(): Promise<void> {}

  private members(): EtcdMember[] {
    const w = this.world;
    const ids = [...w.members.keys()].sort();
    const leaderIndex = w.currentRaftIndex();
    return ids.map((id) => {
      const m = w.members.get(id) as SimMember;
      const healthy = w.memberHealthy(m);
      const caughtUp = m.caughtUpAt !== undefined && m.caughtUpAt <= w.now;
      return {
        id: m.id,
        name: m.name,
        peerURLs: [m.peerURL],
        clientURLs: m.startedAt === undefined ? [] : [m.clientURL],
        isLearner: m.isLearner,
        healthy,
        leader: m.id === w.etcdLeaderId,
        ...(healthy ? { reportedMembers: ids, raftIndex: caughtUp ? leaderIndex : Math.floor(leaderIndex / 2) } : {}),
      };
    });
  }

  private requireAnyMember(what: string): void {
    this.world.maybeFail(what);
    if (![...this.world.members.values()].some((m) => this.world.memberHealthy(m)))
      throw new SwarmkeeperError('Unavailable', `${what}: no etcd member answers`);
  }

  /**
   * `settled`: the call is refused while a member started lately, as etcd's strict
   * reconfiguration check refuses member adds and removes (not promotions, nor a
   * leadership move) until every voter has been connected for 5 s.
   */
  private requireLeader(what: string, opts: { settled?: boolean } = {}): void {
    const w = this.world;
    w.maybeFail(what);
    if (w.etcdLeaderId === undefined) throw new SwarmkeeperError('Unavailable', `${what}: etcdserver: no leader`);
    if (!opts.settled) return;
    const recent = [...w.members.values()].some(
      (m) => m.startedAt !== undefined && m.startedAt > w.now - w.timings.reconfigCooldownMs && m.startedAt !== m.caughtUpAt,
    );
    if (recent) throw new SwarmkeeperError('Unavailable', `${what}: etcdserver: unhealthy cluster`);
  }

  private member(id: string): SimMember {
    const m = this.world.members.get(id);
    if (!m) throw new SwarmkeeperError('NotFound', `etcd member ${id} not found`);
    return m;
  }
}
