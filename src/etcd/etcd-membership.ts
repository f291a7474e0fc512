// EtcdMembershipApi over etcd3: membership of the CLUSTER etcd (the members on the
// managers), not the management etcd. Calls reach particular members through one etcd3
// client each (etcd-member-clients.ts); this adapter retries where etcd says "try
// again" (the unhealthy-cluster window).
//
// Member ids are uint64: etcd3 hands them over as decimal strings and they stay strings.
// Idempotence (every step may be re-run after a crash): addLearner returns the existing
// member for a peer URL already added; promote of a voter, remove of a member that is
// gone and moveLeader to the current leader resolve.
import { setTimeout as sleep } from 'node:timers/promises';
import type { IMember } from 'etcd3';
import { SwarmkeeperError } from '../errors.ts';
import type { EtcdMember, EtcdView } from '../model/snapshot.ts';
import type { EtcdMembershipApi } from './port.ts';
import { MemberClients, type EtcdMembershipOptions } from './etcd-member-clients.ts';

export type { EtcdMembershipOptions, EtcdMembershipTls } from './etcd-member-clients.ts';

interface MemberProbe {
  readonly healthy: boolean;
  readonly leaderId?: string;
  readonly raftIndex?: number;
  readonly reportedMembers?: readonly string[];
}

export class EtcdMembership implements EtcdMembershipApi {
  private readonly members: MemberClients;
  private readonly unhealthyRetryMs: number;

  constructor(opts: EtcdMembershipOptions) {
    this.members = new MemberClients(opts);
    this.unhealthyRetryMs = opts.unhealthyRetryMs ?? 15_000;
  }

  async listMembers(): Promise<EtcdMember[]> {
    const { members, leaderId } = await this.members.anyMember('listing etcd members', async (c) => {
      const [list, status] = await Promise.all([c.cluster.memberList({ linearizable: true }), c.maintenance.status()]);
      return { members: list.members, leaderId: status.leader };
    });
    this.members.learn(members);
    return members.map((m) => toMember(m, { leader: m.ID === leaderId }));
  }

  async view(): Promise<EtcdView> {
    const members = await this.members.anyMember(
      'listing etcd members',
      async (c) => (await c.cluster.memberList({ linearizable: true })).members,
    );
    this.members.learn(members);
    const probes = await Promise.all(members.map((m) => this.probe(m)));
    const leaderId = mostReported(probes.flatMap((p) => (p.healthy && p.leaderId ? [p.leaderId] : [])));
    const alarms = await this.readAlarms(members, probes);
    return {
      members: members.map((m, i) => {
        const p = probes[i]!;
        return toMember(m, {
          leader: m.ID === leaderId,
          healthy: p.healthy,
          ...(p.raftIndex !== undefined ? { raftIndex: p.raftIndex } : {}),
          ...(p.reportedMembers ? { reportedMembers: p.reportedMembers } : {}),
        });
      }),
      ...(leaderId ? { leaderId } : {}),
      alarms,
    };
  }

  async addLearner(peerURLs: readonly string[]): Promise<string> {
    if (peerURLs.length === 0) throw new SwarmkeeperError('Usage', 'adding an etcd learner: no peer URL given');
    const context = `adding etcd learner ${peerURLs.join(',')}`;
    return this.retryUnhealthy(async () => {
      // Re-read before each attempt: an earlier attempt that timed out may have been applied.
      const existing = (await this.listMembers()).find((m) => m.peerURLs.some((u) => peerURLs.includes(u)));
      if (existing) return existing.id;
      const res = await this.members.anyMember(context, (c) => c.cluster.memberAdd({ peerURLs: [...peerURLs], isLearner: true }));
      return res.member.ID;
    });
  }

  async promote(memberId: string): Promise<void> {
    const context = `promoting etcd learner ${memberId}`;
    await this.retryUnhealthy(async () => {
      try {
        await this.members.anyMember(context, (c) => c.cluster.memberPromote({ ID: memberId }));
      } catch (err) {
        // A retry after a promotion that was applied: the member is a voter already.
        const member = (await this.listMembers()).find((m) => m.id === memberId);
        if (!member) throw new SwarmkeeperError('NotFound', `${context}: no such member`, { cause: err, details: { memberId } });
        if (!member.isLearner) return;
        throw err;
      }
    });
  }

  async removeMember(memberId: string): Promise<void> {
    const context = `removing etcd member ${memberId}`;
    await this.retryUnhealthy(async () => {
      const members = await this.listMembers();
      if (!members.some((m) => m.id === memberId)) return;
      const through = members.filter((m) => m.id !== memberId && m.clientURLs.length > 0).map((m) => m.clientURLs[0]!);
      if (through.length === 0) throw new SwarmkeeperError('Precondition', `${context}: no other member to ask`, { details: { memberId } });
      try {
        await this.members.firstAnswering(context, through, (c) => c.cluster.memberRemove({ ID: memberId }));
      } catch (err) {
        if (err instanceof SwarmkeeperError && err.code === 'NotFound') return;
        throw err;
      }
    });
  }

  async moveLeader(toMemberId: string): Promise<void> {
    const context = `moving etcd leadership to ${toMemberId}`;
    for (let attempt = 0; ; attempt++) {
      const members = await this.listMembers();
      const target = members.find((m) => m.id === toMemberId);
      if (!target) throw new SwarmkeeperError('NotFound', `${context}: no such member`, { details: { memberId: toMemberId } });
      const leader = members.find((m) => m.leader);
      if (leader?.id === toMemberId) return;
      const url = leader?.clientURLs[0];
      if (!leader || !url) throw new SwarmkeeperError('Unavailable', `${context}: the cluster has no leader now`);
      try {
        await this.members.call(context, url, (c) => c.maintenance.moveLeader({ targetID: toMemberId }));
        return;
      } catch (err) {
        // Leadership moved between reading it and asking: look again, once.
        if (attempt > 0 || !(err instanceof SwarmkeeperError) || err.code !== 'Conflict') throw err;
      }
    }
  }

  async close(): Promise<void> {
    this.members.close();
  }

  /**
   * etcd refuses membership changes with "unhealthy cluster" until every member has been
   * connected for 5 s (strict reconfig check; adds and removes alike): a refusal that
   * ends within seconds, so it is asked again every 100 ms (a doubling delay overshot
   * its end by up to two seconds on every member add; the question is cheap) for up to
   * `unhealthyRetryMs`, then let through (Unavailable).
   */
  private async retryUnhealthy<T>(fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.unhealthyRetryMs;
    const delay = 100;
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof SwarmkeeperError) || !/unhealthy cluster/i.test(err.message) || Date.now() + delay > deadline) throw err;
      }
      await sleep(delay);
    }
  }

  /**
   * Asks one member about itself: status (leader, raft index) and, from a voter, its
   * member list. etcd 3.4 refuses every RPC on a learner but Status and serializable
   * Range ("rpc not supported for learner"), so a learner is probed with Status alone:
   * healthy when it answers as itself and knows a leader; its raft index is what the
   * planner's caught-up check compares. It reports no member list (it has no vote in
   * the agreement the stable-cluster gate checks).
   */
  private async probe(m: IMember): Promise<MemberProbe> {
    const url = m.clientURLs[0];
    if (!url) return { healthy: false };
    const learner = m.isLearner === true;
    try {
      const [status, list] = await this.members.call(`probing etcd ${learner ? 'learner' : 'member'} ${m.ID}`, url, (c) =>
        Promise.all([c.maintenance.status(), learner ? undefined : c.cluster.memberList({ linearizable: false })]),
      );
      const hasLeader = status.leader !== '0' && status.leader !== '';
      return {
        healthy: hasLeader && status.header.member_id === m.ID,
        ...(hasLeader ? { leaderId: status.leader } : {}),
        raftIndex: Number(status.raftIndex),
        ...(list ? { reportedMembers: list.members.map((x) => x.ID).sort() } : {}),
      };
    } catch {
      return { healthy: false };
    }
  }

  /** Alarm names (NOSPACE, CORRUPT) through the first healthy voter that answers (learners refuse the Alarm RPC). */
  private async readAlarms(members: readonly IMember[], probes: readonly MemberProbe[]): Promise<string[]> {
    const urls = members.filter((m, i) => probes[i]!.healthy && m.isLearner !== true).map((m) => m.clientURLs[0]!);
    if (urls.length === 0) return [];
    const res = await this.members.firstAnswering('reading etcd alarms', urls, (c) =>
      c.maintenance.alarm({ action: 'Get', memberID: 0, alarm: 'None' }),
    );
    return [...new Set((res.alarms ?? []).map((a) => String(a.alarm)).filter((a) => a !== 'None'))].sort();
  }
}

function toMember(m: IMember, extra: Partial<EtcdMember> & { leader: boolean }): EtcdMember {
  return {
    id: m.ID,
    name: m.name,
    peerURLs: [...m.peerURLs],
    clientURLs: [...m.clientURLs],
    isLearner: m.isLearner === true,
    ...extra,
  };
}

/** The value reported most often (ties: the smallest, for determinism), or undefined. */
function mostReported(values: readonly string[]): string | undefined {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0];
}
