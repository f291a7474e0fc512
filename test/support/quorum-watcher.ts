// Samples a cluster's etcd and swarm every 100 ms while a test changes it, and records
// whether each raft had a working quorum:
// - etcd: some manager's member answers GET /health with health "true" (etcd 3.4 only
//   says so when the member has a leader and a quorum read succeeds), or, when that
//   quorum read is merely slow (a starved machine makes /health time out or say false
//   with a leader in place), its own raft state shows a leader (the maintenance Status
//   call's `leader`, the value behind etcd_server_has_leader). etcd runs with
//   CheckQuorum, so a leader that lost its quorum steps down within an election timeout
//   and every member then shows 0: a lost quorum still reads as a gap;
// - swarm: some manager engine lists the nodes (swarmkit refuses without a raft
//   leader) and a leader is among them.
// A leader election (after a leadership transfer or a member removal) makes a short
// gap; a lost quorum never comes back by itself. The test asserts on the longest gap.
//
// Each sample starts on its own 100 ms tick and asks the managers of the latest
// listing, refreshed every second (quorum-sampler.ts): a slow or dead manager never
// stretches the interval. The report (quorum-report.ts) says the interval achieved, and
// how long the watcher's own process stalled: a sample without quorum that lived
// through such a stall is inconclusive and left out (quorum-sampler.ts says why).
import type { Instance } from '../../src/model/snapshot.ts';
import type { Provider } from '../../src/providers/provider.ts';
import { DockerSwarm } from '../../src/swarm/docker-swarm.ts';
import { quorumReport, type QuorumReport } from './quorum-report.ts';
import { startQuorumSampler, type QuorumProbe } from './quorum-sampler.ts';

export { quorumReport, type QuorumGap, type QuorumReport, type QuorumSample } from './quorum-report.ts';

/** Bound on each check (one HTTP request), so that every sample ends. */
const CHECK_TIMEOUT_MS = 1500;
const LIST_EVERY_MS = 1000;
/**
 * Samples still without a verdict. A verdict waits at most two checks in a row (/health,
 * then Status): 3 s. When every member is that slow the sampling backs off to a few
 * samples a second instead of piling requests on members that are already behind.
 */
const MAX_IN_FLIGHT = 10;
/** Half a check's timeout: a stall that long may have timed a check out on its own. */
const STALL_MS = CHECK_TIMEOUT_MS / 2;

export interface QuorumWatcher {
  stop(): Promise<QuorumReport>;
}

/** What the watcher needs of a provider (local, or ec2 with docker over TLS). */
export type WatchedProvider = Pick<Provider, 'list' | 'dockerEndpoint' | 'etcdClientUrl'>;

export function watchQuorum(provider: WatchedProvider, cluster: string, intervalMs = 100): QuorumWatcher {
  const swarms = new Map<string, DockerSwarm>();
  const sampler = startQuorumSampler<Instance>({
    intervalMs,
    stallMs: STALL_MS,
    listEveryMs: LIST_EVERY_MS,
    maxInFlight: MAX_IN_FLIGHT,
    listManagers: async () => (await provider.list(cluster)).filter((i) => i.role === 'manager' && i.state === 'running' && i.address),
    probe: (managers) => probeQuorum(provider, managers, swarms),
  });
  return {
    async stop() {
      const { samples, ...counts } = await sampler.stop();
      await Promise.all([...swarms.values()].map((s) => s.close().catch(() => undefined)));
      return quorumReport(samples, counts);
    },
  };
}

/** Asks every manager's etcd and engine; a raft's verdict is in as soon as one manager says yes. */
async function probeQuorum(
  provider: WatchedProvider,
  managers: readonly Instance[],
  swarms: Map<string, DockerSwarm>,
): Promise<QuorumProbe> {
  const answers = managers.map((m) => etcdHealthy(provider.etcdClientUrl(m)));
  const [etcd, swarm] = await Promise.all([anyTrue(answers), anyTrue(managers.map((m) => swarmHasLeader(provider, m, swarms)))]);
  if (etcd) return { etcd, swarm };
  const said = await Promise.allSettled(answers);
  const etcdDetail =
    managers.map((m, i) => `${m.address}: ${answerText(said[i] as PromiseSettledResult<boolean>)}`).join('; ') || 'no running manager';
  return { etcd, swarm, etcdDetail };
}

function answerText(r: PromiseSettledResult<boolean>): string {
  if (r.status === 'fulfilled') return r.value ? 'healthy' : 'health false, no leader';
  const err = r.reason as Error & { cause?: { code?: string; message?: string } };
  const cause = err.cause?.code ?? err.cause?.message;
  return cause ? `${err.message} (${cause})` : err.message;
}

async function etcdHealthy(clientUrl: string): Promise<boolean> {
  const health = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) })
    .then(async (res) => ((await res.json()) as { health?: string }).health === 'true')
    .catch(() => false);
  return health || (await etcdHasLeader(clientUrl));
}

/**
 * The member's own view: does it follow (or is it) a leader? The maintenance Status call
 * answers from the member's raft state without a round trip (its `leader` is the value
 * behind etcd_server_has_leader), in a few hundred bytes where /metrics sends ~150 KB.
 */
async function etcdHasLeader(clientUrl: string): Promise<boolean> {
  const res = await fetch(`${clientUrl}/v3/maintenance/status`, {
    method: 'POST',
    body: '{}',
    signal: AbortSignal.timeout(CHECK_TIMEOUT_MS),
  });
  const status = (await res.json()) as { leader?: string };
  if (!res.ok) throw new Error(`maintenance status: HTTP ${res.status}`);
  return status.leader !== undefined && status.leader !== '0';
}

async function swarmHasLeader(provider: WatchedProvider, m: Instance, swarms: Map<string, DockerSwarm>): Promise<boolean> {
  let s = swarms.get(m.id);
  if (!s) {
    s = new DockerSwarm(provider.dockerEndpoint(m), { requestTimeoutMs: CHECK_TIMEOUT_MS });
    swarms.set(m.id, s);
  }
  // The request timeout is the socket's idle time; the race bounds a connection that never forms.
  const nodes = await Promise.race([
    s.listNodes(),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS).unref()),
  ]);
  return nodes.some((n) => n.leader);
}

/** True as soon as one check says true; false when all said false or failed. */
function anyTrue(checks: readonly Promise<boolean>[]): Promise<boolean> {
  if (checks.length === 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    let left = checks.length;
    const settled = (v: boolean): void => {
      if (v) resolve(true);
      else if (--left === 0) resolve(false);
    };
    for (const c of checks) c.then(settled, () => settled(false));
  });
}
