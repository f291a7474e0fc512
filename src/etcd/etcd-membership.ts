// EtcdMembershipApi over etcd3: membership of the CLUSTER etcd (the members on the
// managers), not the management etcd. One etcd3 client per endpoint, because several
// calls must reach one particular member: status() asks each member about itself,
// moveLeader must go to the current leader, removeMember goes through a member other
// than the one removed. etcd3's own retry/failover is switched off for that reason; the
// adapter retries where etcd says "try again" (the unhealthy-cluster window).
//
// Member ids are uint64: etcd3 hands them over as decimal strings and they stay strings.
// Idempotence (every step may be re-run after a crash): addLearner returns the existing
// member for a peer URL already added; promote of a voter, remove of a member that is
// gone and moveLeader to the current leader resolve.
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import { Etcd3, type IMember, type IOptions } from 'etcd3';
import { SwarmkeeperError } from '../errors.ts';
import type { EtcdMember, EtcdView } from '../model/snapshot.ts';
import type { EtcdMembershipApi } from './port.ts';
import { toEtcdError } from './etcd-errors.ts';

export interface EtcdMembershipTls {
  /** PEM files; or the PEM text itself in ca/cert/key. */
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly ca?: string | Buffer;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
}

export interface EtcdMembershipOptions {
  /** Client URLs of (some) members; more are learnt from the member list. */
  readonly endpoints: readonly string[];
  readonly credentials?: { readonly username: string; readonly password: string };
  readonly tls?: EtcdMembershipTls;
  /** Deadline of each call to one member; default 5 s. A member slower than this counts as unhealthy. */
  readonly callTimeoutMs?: number;
  /** How long membership changes keep retrying etcd's "unhealthy cluster" refusal; default 15 s. */
  readonly unhealthyRetryMs?: number;
}

interface MemberProbe {
  readonly healthy: boolean;
  readonly leaderId?: string;
  readonly raftIndex?: number;
  readonly reportedMembers?: readonly string[];
}

export class EtcdMembership implements EtcdMembershipApi {
  private readonly clients = new Map<string, Etcd3>();
  private readonly seeds: readonly string[];
  private readonly callTimeoutMs: number;
  private readonly unhealthyRetryMs: number;
  private readonly baseOptions: Omit<IOptions, 'hosts'>;
  /** Client URLs of the voters in the last member list, tried before the seeds. */
  private known: readonly string[] = [];
  /**
   * The URL that answered last, asked first next time: a member that does not answer
   * costs a whole call timeout, and a few of them ahead of a live one in the list would
   * outlast the observation's deadline every cycle (dead managers would then never be
   * seen, so never replaced).
   */
  private answered: string | undefined;

  constructor(opts: EtcdMembershipOptions) {
    if (opts.endpoints.length === 0) throw new SwarmkeeperError('Usage', 'etcd membership: no endpoints given');
    for (const e of opts.endpoints) {
      if (!/^https?:\/\/[^/]+/.test(e)) throw new SwarmkeeperError('Usage', `etcd membership: endpoint ${e} is not an http(s):// URL`);
    }
    this.seeds = [...opts.endpoints];
    this.callTimeoutMs = opts.callTimeoutMs ?? 5_000;
    this.unhealthyRetryMs = opts.unhealthyRetryMs ?? 15_000;
    const noop = { execute: <T>(fn: () => T) => fn() };
    this.baseOptions = {
      dialTimeout: this.callTimeoutMs,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + this.callTimeoutMs }),
      faultHandling: { host: () => noop as never, global: noop as never },
      ...(opts.credentials ? { auth: { username: opts.credentials.username, password: opts.credentials.password } } : {}),
      ...(opts.tls ? { credentials: tlsCredentials(opts.tls) } : {}),
    };
  }

  async listMembers(): Promise<EtcdMember[]> {
    const { members, leaderId } = await this.anyMember('listing etcd members', async (c) => {
      const [list, status] = await Promise.all([c.cluster.memberList({ linearizable: true }), c.maintenance.status()]);
      return { members: list.members, leaderId: status.leader };
    });
    this.learn(members);
    return members.map((m) => toMember(m, { leader: m.ID === leaderId }));
  }

  async view(): Promise<EtcdView> {
    const members = await this.anyMember('listing etcd members', async (c) => (await c.cluster.memberList({ linearizable: true })).members);
    this.learn(members);
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
      const res = await this.anyMember(context, (c) => c.cluster.memberAdd({ peerURLs: [...peerURLs], isLearner: true }));
      return res.member.ID;
    });
  }

  async promote(memberId: string): Promise<void> {
    const context = `promoting etcd learner ${memberId}`;
    await this.retryUnhealthy(async () => {
      try {
        await this.anyMember(context, (c) => c.cluster.memberPromote({ ID: memberId }));
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
        await this.firstAnswering(context, through, (c) => c.cluster.memberRemove({ ID: memberId }));
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
        await this.call(context, url, (c) => c.maintenance.moveLeader({ targetID: toMemberId }));
        return;
      } catch (err) {
        // Leadership moved between reading it and asking: look again, once.
        if (attempt > 0 || !(err instanceof SwarmkeeperError) || err.code !== 'Conflict') throw err;
      }
    }
  }

  async close(): Promise<void> {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
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
      const [status, list] = await this.call(`probing etcd ${learner ? 'learner' : 'member'} ${m.ID}`, url, (c) =>
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
    const res = await this.firstAnswering('reading etcd alarms', urls, (c) =>
      c.maintenance.alarm({ action: 'Get', memberID: 0, alarm: 'None' }),
    );
    return [...new Set((res.alarms ?? []).map((a) => String(a.alarm)).filter((a) => a !== 'None'))].sort();
  }

  private anyMember<T>(context: string, fn: (c: Etcd3) => Promise<T>): Promise<T> {
    return this.firstAnswering(context, [...new Set([...this.known, ...this.seeds])], fn);
  }

  /**
   * Runs `fn` against each URL in turn until one answers. Only an unreachable member moves
   * on to the next; an answer that is a refusal (precondition, conflict) is final.
   */
  private async firstAnswering<T>(context: string, urls: readonly string[], fn: (c: Etcd3) => Promise<T>): Promise<T> {
    let last: SwarmkeeperError | undefined;
    const first = this.answered !== undefined && urls.includes(this.answered) ? this.answered : undefined;
    for (const url of first === undefined ? urls : [first, ...urls.filter((u) => u !== first)]) {
      try {
        const out = await this.call(context, url, fn);
        this.answered = url;
        return out;
      } catch (err) {
        if (!(err instanceof SwarmkeeperError) || err.code !== 'Unavailable' || /unhealthy cluster/i.test(err.message)) throw err;
        last = err;
      }
    }
    throw last ?? new SwarmkeeperError('Unavailable', `${context}: no endpoint to ask`);
  }

  private async call<T>(context: string, url: string, fn: (c: Etcd3) => Promise<T>): Promise<T> {
    try {
      return await fn(this.clientFor(url));
    } catch (err) {
      throw toEtcdError(`${context} (via ${url})`, err, { endpoint: url });
    }
  }

  private clientFor(url: string): Etcd3 {
    let c = this.clients.get(url);
    if (!c) {
      c = new Etcd3({ ...this.baseOptions, hosts: [url] });
      this.clients.set(url, c);
    }
    return c;
  }

  /** Only voters are remembered as endpoints to ask: a learner refuses MemberList and membership changes. */
  private learn(members: readonly IMember[]): void {
    this.known = members.flatMap((m) => (m.isLearner === true ? [] : m.clientURLs.slice(0, 1)));
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

function tlsCredentials(tls: EtcdMembershipTls): NonNullable<IOptions['credentials']> {
  const read = (pem: string | Buffer | undefined, file: string | undefined, what: string): Buffer | undefined => {
    if (pem !== undefined) return Buffer.isBuffer(pem) ? pem : Buffer.from(pem);
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new SwarmkeeperError('Usage', `etcd TLS: cannot read the ${what} file ${file}: ${(err as Error).message}`, { cause: err });
    }
  };
  const rootCertificate = read(tls.ca, tls.caFile, 'CA');
  if (!rootCertificate) throw new SwarmkeeperError('Usage', 'etcd TLS: a CA (caFile) is required to verify the members');
  const privateKey = read(tls.key, tls.keyFile, 'key');
  const certChain = read(tls.cert, tls.certFile, 'certificate');
  if ((privateKey === undefined) !== (certChain === undefined)) {
    throw new SwarmkeeperError('Usage', 'etcd TLS: give both the client certificate and its key, or neither');
  }
  return { rootCertificate, ...(privateKey && certChain ? { privateKey, certChain } : {}) };
}
