// The schedule of the quorum watcher (quorum-watcher.ts says what a sample checks):
// - a sample starts on every tick of a fixed grid (every `intervalMs` from the start),
//   without waiting for the one before: a slow or dead manager delays only the samples
//   that ask it, never the next tick. A tick the process was too busy to run is skipped,
//   not made up in a burst;
// - a sample is recorded at its start time, whenever it finishes (samples finish out of
//   order; the report sorts them);
// - the manager list is refreshed in its own loop every `listEveryMs`, and each sample
//   asks the latest list: listing instances (a DescribeInstances on EC2) costs more than
//   a tick;
// - at most `maxInFlight` samples wait on their checks at once (each check has its own
//   timeout, so a sample always ends); a tick beyond that bound is skipped and counted;
// - the watcher shares its process with the test, whose synchronous calls (a node's
//   Ignition run, a mount) can hold the event loop for seconds: a tick that comes more
//   than `stallMs` late marks a stall, a time the watcher could not see. A sample without
//   quorum that lived through a stall is inconclusive (its checks may have timed out on
//   the watcher's clock, not the peer's) and is dropped and counted, never taken for a
//   gap; a lost quorum does not end with the stall, so the samples after it still show
//   it. A sample with quorum is evidence whatever its timing, and is kept.
import type { QuorumSample } from './quorum-report.ts';

/** What one sample found, before the sampler stamps it with its start time and list size. */
export interface QuorumProbe {
  readonly etcd: boolean;
  readonly swarm: boolean;
  readonly etcdDetail?: string;
}

export interface QuorumSamplerOptions<M> {
  readonly intervalMs: number;
  /** A tick this much later than due marks a stall of the watcher's own process. */
  readonly stallMs: number;
  readonly listEveryMs: number;
  readonly maxInFlight: number;
  /** The cluster's running managers. A failed listing keeps the last list. */
  readonly listManagers: () => Promise<readonly M[]>;
  /** Checks both rafts through `managers`; each check bounded by its own timeout. */
  readonly probe: (managers: readonly M[]) => Promise<QuorumProbe>;
}

export interface QuorumSampling {
  readonly samples: readonly QuorumSample[];
  readonly skippedTicks: number;
  /** Samples without quorum dropped because the watcher stalled while they ran. */
  readonly inconclusiveSamples: number;
  /** The stalls of the watcher's process, oldest first: times it could not see. */
  readonly stalls: readonly Stall[];
}

export interface Stall {
  readonly from: number;
  readonly to: number;
}

interface TimedSample {
  readonly sample: QuorumSample;
  readonly endedAt: number;
}

export interface QuorumSampler {
  /** Stops ticking and listing, and waits for the samples still running. */
  stop(): Promise<QuorumSampling>;
}

export function startQuorumSampler<M>(o: QuorumSamplerOptions<M>): QuorumSampler {
  const samples: TimedSample[] = [];
  const stalls: Stall[] = [];
  const inFlight = new Set<Promise<void>>();
  let managers: readonly M[] | undefined;
  let running = true;
  let skippedTicks = 0;
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const refresh = (): void => {
    const started = Date.now();
    o.listManagers()
      .then(
        (list) => {
          managers = list;
        },
        () => undefined, // An instance record being rewritten: keep the last list.
      )
      .finally(() => {
        if (running) later(Math.max(0, o.listEveryMs - (Date.now() - started)), refresh);
      });
  };

  const sample = (list: readonly M[], at: number): void => {
    const done = o
      .probe(list)
      .catch((err: unknown) => ({ etcd: false, swarm: false, etcdDetail: `probe failed: ${(err as Error).message}` }))
      .then((p) => {
        samples.push({ sample: { at, managers: list.length, ...p }, endedAt: Date.now() });
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  };

  const start = Date.now();
  let tick = 0;
  const onTick = (): void => {
    if (!running) return;
    const now = Date.now();
    const due = start + tick * o.intervalMs;
    if (now - due > o.stallMs) stalls.push({ from: due, to: now });
    // No sample before the first list: nothing is known to ask yet.
    if (managers !== undefined) {
      if (inFlight.size >= o.maxInFlight) skippedTicks++;
      else sample(managers, Date.now());
    }
    tick = Math.max(tick + 1, Math.floor((Date.now() - start) / o.intervalMs) + 1);
    later(Math.max(0, start + tick * o.intervalMs - Date.now()), onTick);
  };

  refresh();
  later(0, onTick);
  return {
    async stop() {
      running = false;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      // A listing still under way is left to finish on its own: no sample needs it now.
      await Promise.all([...inFlight]);
      return { ...judged(samples, stalls), skippedTicks, stalls: [...stalls] };
    },
  };
}

/** Drops the samples without quorum that lived through a stall (see the top of the file). */
function judged(samples: readonly TimedSample[], stalls: readonly Stall[]): { samples: QuorumSample[]; inconclusiveSamples: number } {
  const stalled = (t: TimedSample): boolean => stalls.some((x) => x.from < t.endedAt && x.to > t.sample.at);
  const kept = samples.filter((t) => (t.sample.etcd && t.sample.swarm) || !stalled(t));
  return { samples: kept.map((t) => t.sample), inconclusiveSamples: samples.length - kept.length };
}
