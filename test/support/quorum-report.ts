// The verdict on a run of quorum samples (test/support/quorum-watcher.ts takes them): the
// longest time each raft went without a quorum, and how often the sampling really ran.
// Samples may arrive in any order (each one is started on its own tick and finishes when
// its slowest check does): the report orders them by their start time first.

export interface QuorumSample {
  /** When the sample was started (ms since the epoch): what it says held at that moment. */
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
  /** Median time between the starts of consecutive samples (ms): the achieved sampling interval. */
  readonly medianIntervalMs: number;
  /** 95th percentile of that time (ms): how far the sampling fell behind at worst, but for outliers. */
  readonly p95IntervalMs: number;
  /** Ticks with no sample because too many samples were still waiting on their checks. */
  readonly skippedTicks: number;
  /** Samples without quorum left out because the watcher's own process stalled while they ran. */
  readonly inconclusiveSamples: number;
  /** The longest such stall (ms): a time the watcher could not see. */
  readonly longestStallMs: number;
  /** Stalls longer than a second, oldest first. */
  readonly stalls: readonly { readonly at: string; readonly ms: number }[];
  /** Longest run of samples without an etcd quorum, after etcd first had one; all of the sampling when it never had one (ms). */
  readonly longestEtcdGapMs: number;
  readonly longestSwarmGapMs: number;
  readonly etcdFailures: number;
  readonly swarmFailures: number;
  /** etcd gaps longer than a second, oldest first. */
  readonly etcdGaps: readonly QuorumGap[];
}

interface Gaps {
  readonly longest: number;
  readonly failures: number;
  readonly runs: QuorumGap[];
}

/** How the sampling went, besides the samples (quorum-sampler.ts). */
export interface SamplingCounts {
  readonly skippedTicks: number;
  readonly inconclusiveSamples: number;
  /** When the watcher's own process stalled (ms since the epoch). */
  readonly stalls: readonly { readonly from: number; readonly to: number }[];
}

const NOTHING_MISSED: SamplingCounts = { skippedTicks: 0, inconclusiveSamples: 0, stalls: [] };

export function quorumReport(unordered: readonly QuorumSample[], counts: SamplingCounts = NOTHING_MISSED): QuorumReport {
  const samples = [...unordered].sort((a, b) => a.at - b.at);
  const e = gapsOf(samples, (s) => s.etcd);
  const w = gapsOf(samples, (s) => s.swarm);
  const intervals = samples.slice(1).map((s, i) => s.at - (samples[i] as QuorumSample).at);
  return {
    samples: samples.length,
    medianIntervalMs: percentile(intervals, 50),
    p95IntervalMs: percentile(intervals, 95),
    skippedTicks: counts.skippedTicks,
    inconclusiveSamples: counts.inconclusiveSamples,
    longestStallMs: Math.max(0, ...counts.stalls.map((x) => x.to - x.from)),
    stalls: counts.stalls.filter((x) => x.to - x.from > 1000).map((x) => ({ at: new Date(x.from).toISOString(), ms: x.to - x.from })),
    longestEtcdGapMs: e.longest,
    longestSwarmGapMs: w.longest,
    etcdFailures: e.failures,
    swarmFailures: w.failures,
    etcdGaps: e.runs.filter((r) => r.ms > 1000),
  };
}

/** A gap runs from its first sample without quorum to the next sample with it (or to the last sample). */
function gapsOf(samples: readonly QuorumSample[], ok: (s: QuorumSample) => boolean): Gaps {
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
}

/** Nearest-rank percentile; 0 for no values. */
function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}
