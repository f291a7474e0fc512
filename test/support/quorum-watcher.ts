// Samples a cluster's etcd and swarm every 100 ms while a test changes it, and records
// whether each raft had a working quorum:
// - etcd: some manager's member answers GET /health with health "true" (etcd 3.4 only
//   says so when the member has a leader and a quorum read succeeds), or, when that
//   quorum read is merely slow (a starved machine makes /health time out or say false
//   with a leader in place), its /metrics show etcd_server_has_leader 1. etcd runs with
//   CheckQuorum, so a leader that lost its quorum steps down within an election timeout
//   and every member then shows 0: a lost quorum still reads as a gap;
// - swarm: some manager engine lists the nodes (swarmkit refuses without a raft
//   leader) and a leader is among them.
// A leader election (after a leadership transfer or a member removal) makes a short
// gap; a lost quorum never comes back by itself. The test asserts on the longest gap.
//
// Each sample starts on its own 100 ms tick and asks the managers of the latest
// listing, refreshed every second (quorum-sampler.ts): a slow or dead manager never
// stretches the interval. The report (quorum-report.ts) says the interval achieved.
import type { Instance } from '../../src/model/snapshot.ts';
import type { Provider } from '../../src/providers/provider.ts';
import { DockerSwarm } from '../../src/swarm/docker-swarm.ts';
import { quorumReport, type QuorumReport } from './quorum-report.ts';
import { startQuorumSampler, type QuorumProbe } from './quorum-sampler.ts';

export { quorumReport, type QuorumGap, type QuorumReport, type QuorumSample } from './quorum-report.ts';

/** Bound on each check (one HTTP request), so that every sample ends. */
const CHECK_TIMEOUT_MS = 1500;
const LIST_EVERY_MS = 1000;
/** A sample waits at most two checks in a row (/health, then /metrics): ~30 ticks. */
const MAX_IN_FLIGHT = 40;

export interface QuorumWatcher {
  stop(): Promise<QuorumReport>;
}

/** What the watcher needs of a provider (local, or ec2 with docker over TLS). */
export type WatchedProvider = Pick<Provider, 'list' | 'dockerEndpoint' | 'etcdClientUrl'>;

export function watchQuorum(provider: WatchedProvider, cluster: string, intervalMs = 100): QuorumWatcher {
  const swarms = new Map<string, DockerSwarm>();
  const sampler = startQuorumSampler<Instance>({
    intervalMs,
    listEveryMs: LIST_EVERY_MS,
    maxInFlight: MAX_IN_FLIGHT,
    listManagers: async () => (await provider.list(cluster)).filter((i) => i.role === 'manager' && i.state === 'running' && i.address),
    probe: (managers) => probeQuorum(provider, managers, swarms),
  });
  return {
    async stop() {
      const { samples, skippedTicks } = await sampler.stop();
      await Promise.all([...swarms.values()].map((s) => s.close().catch(() => undefined)));
      return quorumReport(samples, skippedTicks);
    },
  };
}

/** Asks every manager's etcd and engine; settles once all of them answered or timed out. */
async function probeQuorum(
  provider: WatchedProvider,
  managers: readonly Instance[],
  swarms: Map<string, DockerSwarm>,
): Promise<QuorumProbe> {
  const [etcdSaid, swarmSaid] = await Promise.all([
    Promise.allSettled(managers.map((m) => etcdHealthy(provider.etcdClientUrl(m)))),
    Promise.allSettled(managers.map((m) => swarmHasLeader(provider, m, swarms))),
  ]);
  const etcd = etcdSaid.some((r) => r.status === 'fulfilled' && r.value);
  const swarm = swarmSaid.some((r) => r.status === 'fulfilled' && r.value);
  if (etcd) return { etcd, swarm };
  const said = etcdSaid.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'health false, no leader'));
  const etcdDetail = managers.map((m, i) => `${m.address}: ${said[i]}`).join('; ') || 'no running manager';
  return { etcd, swarm, etcdDetail };
}

async function etcdHealthy(clientUrl: string): Promise<boolean> {
  const health = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) })
    .then(async (res) => ((await res.json()) as { health?: string }).health === 'true')
    .catch(() => false);
  return health || (await etcdHasLeader(clientUrl));
}

/** The member's own view: does it follow (or is it) a leader? Answered without a raft round trip. */
async function etcdHasLeader(clientUrl: string): Promise<boolean> {
  const res = await fetch(`${clientUrl}/metrics`, { signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) });
  const text = await res.text();
  const line = text.split('\n').find((l) => l.startsWith('etcd_server_has_leader '));
  if (line === undefined) throw new Error('no etcd_server_has_leader in /metrics');
  return line.trim().endsWith(' 1');
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
