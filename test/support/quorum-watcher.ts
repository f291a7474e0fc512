// Samples a cluster's etcd and swarm every 100 ms while a test changes
// it, and records whether each raft had a working quorum:
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
import type { Instance } from '../../src/model/snapshot.ts';
import type { Provider } from '../../src/providers/provider.ts';
import { DockerSwarm } from '../../src/swarm/docker-swarm.ts';

export interface QuorumSample {
  readonly at: number;
  readonly etcd: boolean;
  readonly swarm: boolean;
  readonly managers: number;
  /** What each manager's etcd said when none was healthy ("<address>: <answer>"). */
  readonly etcdDetail?: string;
}

/** A run of samples without an etcd quorum: when it began, how long, what the members said at its start. */
export interface QuorumGap {
  readonly at: string;
  readonly ms: number;
  readonly detail: string;
}

export interface QuorumReport {
  readonly samples: number;
  /** Longest run of samples without an etcd quorum, after etcd first had one; all of the sampling when it never had one (ms). */
  readonly longestEtcdGapMs: number;
  readonly longestSwarmGapMs: number;
  readonly etcdFailures: number;
  readonly swarmFailures: number;
  /** etcd gaps longer than a second, oldest first. */
  readonly etcdGaps: readonly QuorumGap[];
}

export interface QuorumWatcher {
  stop(): Promise<QuorumReport>;
}

/** What the watcher needs of a provider (local, or ec2 with docker over TLS). */
export type WatchedProvider = Pick<Provider, 'list' | 'dockerEndpoint' | 'etcdClientUrl'>;

export function watchQuorum(provider: WatchedProvider, cluster: string, intervalMs = 100): QuorumWatcher {
  const samples: QuorumSample[] = [];
  const swarms = new Map<string, DockerSwarm>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      try {
        samples.push(await sample(provider, cluster, swarms));
      } catch {
        // The instance list itself failed (a record being rewritten): no sample.
      }
      await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (Date.now() - started))));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await Promise.all([...swarms.values()].map((s) => s.close().catch(() => undefined)));
      return quorumReport(samples);
    },
  };
}

async function sample(provider: WatchedProvider, cluster: string, swarms: Map<string, DockerSwarm>): Promise<QuorumSample> {
  const managers = (await provider.list(cluster)).filter((i) => i.role === 'manager' && i.state === 'running' && i.address);
  const answers = managers.map((m) => etcdHealthy(provider.etcdClientUrl(m)));
  const [etcd, swarm] = await Promise.all([anyTrue(answers), anyTrue(managers.map((m) => swarmHasLeader(provider, m, swarms)))]);
  if (etcd) return { at: Date.now(), etcd, swarm, managers: managers.length };
  const said = await Promise.all(
    answers.map((a) =>
      a.then(
        (ok) => (ok ? 'healthy' : 'health false, no leader'),
        (err: unknown) => (err as Error).message,
      ),
    ),
  );
  const etcdDetail = managers.map((m, i) => `${m.address}: ${said[i]}`).join('; ') || 'no running manager';
  return { at: Date.now(), etcd, swarm, managers: managers.length, etcdDetail };
}

async function etcdHealthy(clientUrl: string): Promise<boolean> {
  const health = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1500) })
    .then(async (res) => ((await res.json()) as { health?: string }).health === 'true')
    .catch(() => false);
  return health || (await etcdHasLeader(clientUrl));
}

/** The member's own view: does it follow (or is it) a leader? Answered without a raft round trip. */
async function etcdHasLeader(clientUrl: string): Promise<boolean> {
  const res = await fetch(`${clientUrl}/metrics`, { signal: AbortSignal.timeout(1500) });
  const text = await res.text();
  const line = text.split('\n').find((l) => l.startsWith('etcd_server_has_leader '));
  if (line === undefined) throw new Error('no etcd_server_has_leader in /metrics');
  return line.trim().endsWith(' 1');
}

async function swarmHasLeader(provider: WatchedProvider, m: Instance, swarms: Map<string, DockerSwarm>): Promise<boolean> {
  let s = swarms.get(m.id);
  if (!s) {
    s = new DockerSwarm(provider.dockerEndpoint(m));
    swarms.set(m.id, s);
  }
  const nodes = await Promise.race([s.listNodes(), new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), 1500))]);
  return nodes.some((n) => n.leader);
}

/** True as soon as one check says true; false when all said false or failed. */
function anyTrue(checks: Promise<boolean>[]): Promise<boolean> {
  if (checks.length === 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    let left = checks.length;
    for (const c of checks) {
      c.then(
        (v) => {
          if (v) resolve(true);
          else if (--left === 0) resolve(false);
        },
        () => {
          if (--left === 0) resolve(false);
        },
      );
    }
  });
}

/** The gaps in a run of samples (exported for its unit test). */
export function quorumReport(samples: readonly QuorumSample[]): QuorumReport {
  const gaps = (ok: (s: QuorumSample) => boolean): { longest: number; failures: number; runs: QuorumGap[] } => {
    let formed = false;
    let start: QuorumSample | undefined;
    let failures = 0;
    const runs: QuorumGap[] = [];
    const close = (end: number): void => {
      if (start) runs.push({ at: new Date(start.at).toISOString(), ms: end - start.at, detail: start.etcdDetail ?? '' });
      start = undefined;
    };
    for (const s of samples) {
      if (ok(s)) {
        formed = true;
        close(s.at);
      } else if (formed) {
        failures++;
        start ??= s;
      }
    }
    const first = samples[0];
    const last = samples.at(-1);
    if (last) close(last.at);
    // A raft never seen with a quorum is one gap as long as the sampling: counted only
    // from its first quorum, a cluster that never formed would report no gap at all.
    if (!formed && first && last) {
      failures = samples.length;
      runs.push({
        at: new Date(first.at).toISOString(),
        ms: last.at - first.at,
        detail: `never had a quorum while sampled; ${first.etcdDetail ?? ''}`,
      });
    }
    return { longest: Math.max(0, ...runs.map((r) => r.ms)), failures, runs };
  };
  const e = gaps((s) => s.etcd);
  const w = gaps((s) => s.swarm);
  return {
    samples: samples.length,
    longestEtcdGapMs: e.longest,
    longestSwarmGapMs: w.longest,
    etcdFailures: e.failures,
    swarmFailures: w.failures,
    etcdGaps: e.runs.filter((r) => r.ms > 1000),
  };
}
