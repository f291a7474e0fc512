// etcd membership steps. Each first looks whether its goal already holds (the step was
// run before, by us or by a controller that died), so re-running a done step is a no-op.
// etcd's "unhealthy cluster" refusal right after members connect (Unavailable) and a
// promotion of a learner that has not caught up (Precondition) are retried with backoff.
import { SwarmkeeperError } from '../errors.ts';
import type { EtcdMember } from '../model/snapshot.ts';
import type { Step } from '../plan/steps.ts';
import type { Snapshot } from '../model/snapshot.ts';
import { DEFAULT_TIMEOUTS, type ActDeps } from './context.ts';
import { etcdFor } from './peers.ts';
import type { EtcdMembershipApi } from '../etcd/port.ts';
import { pollUntil, retrying } from '../retry.ts';

type EtcdStep = Extract<Step, { kind: `etcd.${string}` }>;

export async function runEtcdStep(step: EtcdStep, snapshot: Snapshot, deps: ActDeps): Promise<string> {
  const etcd = etcdFor(deps, snapshot);
  const t = { ...DEFAULT_TIMEOUTS, ...deps.timeouts };
  const log = deps.logger;
  const retry = <T>(
    what: string,
    deadlineMs: number,
    fn: () => Promise<T>,
    retryOn: ('Unavailable' | 'Precondition')[] = ['Unavailable'],
  ): Promise<T> =>
    retrying(fn, {
      retryOn,
      deadlineMs,
      signal: deps.signal,
      onRetry: (err, attempt, delayMs) => log.info({ attempt, delayMs, err }, `Retrying ${what}`),
    });
  switch (step.kind) {
    case 'etcd.addLearner': {
      const existing = byPeerUrl(await etcd.listMembers(), step.peerURL);
      if (existing) return `member ${existing.id} already present`;
      const added = await retry('adding the learner', t.etcdMs, async () => {
        // A timed-out add may have been applied: look before adding again.
        const again = byPeerUrl(await etcd.listMembers(), step.peerURL);
        if (again) return `member ${again.id} already present`;
        const id = await etcd.addLearner([step.peerURL]);
        return `learner ${id} added`;
      });
      // A node already in the swarm runs an agent that looks for this entry every 50 ms
      // and starts etcd at once: seeing the start here lets the next cycle promote the
      // learner, instead of a cycle finding it not started yet and waiting a recheck.
      if (agentRuns(snapshot, step.instanceId) && (await learnerStarted(etcd, step.peerURL, t.learnerStartMs, deps.signal))) {
        return `${added}, started`;
      }
      return added;
    }
    case 'etcd.promote':
      return retry(
        'promoting the learner',
        t.promoteMs,
        async () => {
          const m = (await etcd.listMembers()).find((x) => sameId(x.id, step.memberId));
          if (!m) throw new SwarmkeeperError('NotFound', `promoting etcd member ${step.memberId}: no such member`);
          if (!m.isLearner) return `member ${m.id} is a voter`;
          await etcd.promote(m.id);
          return `member ${m.id} promoted`;
        },
        ['Unavailable', 'Precondition'],
      );
    case 'etcd.removeMember':
      return retry('removing the member', t.etcdMs, async () => {
        const m = (await etcd.listMembers()).find((x) => sameId(x.id, step.memberId));
        if (!m) return `member ${step.memberId} already gone`;
        await etcd.removeMember(m.id);
        return `member ${m.id} removed`;
      });
    case 'etcd.moveLeader':
      return retry('moving etcd leadership', t.etcdMs, async () => {
        const view = await etcd.view();
        if (view.leaderId !== undefined && !sameId(view.leaderId, step.fromMemberId)) return `leader is ${view.leaderId} already`;
        await etcd.moveLeader(step.toMemberId);
        return `leadership moved to ${step.toMemberId}`;
      });
  }
}

/** The node joined the swarm and answers in it: its agent runs. */
function agentRuns(snapshot: Snapshot, instanceId: string): boolean {
  return snapshot.swarm.status === 'ok' && snapshot.swarm.value.nodes.some((n) => n.instanceId === instanceId && n.state === 'ready');
}

/** Whether the member with `peerURL` started (etcd names a member once it has joined) within `ms`. */
async function learnerStarted(etcd: EtcdMembershipApi, peerURL: string, ms: number, signal?: AbortSignal): Promise<boolean> {
  return pollUntil(async () => (byPeerUrl(await etcd.listMembers(), peerURL)?.name ?? '') !== '', {
    deadlineMs: ms,
    intervalMs: LEARNER_START_POLL_MS,
    ...(signal ? { signal } : {}),
  });
}

const LEARNER_START_POLL_MS = 25;

function byPeerUrl(members: readonly EtcdMember[], peerURL: string): EtcdMember | undefined {
  return members.find((m) => m.peerURLs.includes(peerURL));
}

/** Member ids may come as decimal or hex strings; compare them as numbers. */
export function sameId(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return toBig(a) === toBig(b);
  } catch {
    return false;
  }
}

function toBig(id: string): bigint {
  return /^[0-9]+$/.test(id) ? BigInt(id) : BigInt(`0x${id.replace(/^0x/i, '')}`);
}
