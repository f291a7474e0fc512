// The quorum watcher's schedule (test/support/quorum-sampler.ts), on fake timers: samples
// start on a fixed tick whatever their checks cost, are recorded at their start, and ask
// the latest manager list; slow listings and slow checks never stretch the interval.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startQuorumSampler, type QuorumProbe } from '../support/quorum-sampler.ts';
import { quorumReport } from '../support/quorum-report.ts';

/** The watcher's own timing (quorum-watcher.ts), a bigger in-flight bound unless a case says otherwise. */
const TIMING = { intervalMs: 100, stallMs: 750, listEveryMs: 1000, maxInFlight: 40 } as const;

const healthy: QuorumProbe = { etcd: true, swarm: true };

function after<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms));
}

describe('startQuorumSampler', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('starts a sample every tick while earlier ones still wait on a slow manager, and records each at its start', async () => {
    const finished: number[] = [];
    let n = 0;
    const sampler = startQuorumSampler({
      ...TIMING,
      listManagers: async () => ['m1', 'm2', 'm3'],
      // Every other sample waits 750 ms on a slow check: samples finish out of order.
      probe: async () => {
        const started = Date.now();
        const p = await after(n++ % 2 === 0 ? 750 : 20, healthy);
        finished.push(started);
        return p;
      },
    });
    await vi.advanceTimersByTimeAsync(2_000);
    const { samples, skippedTicks } = await stopped(sampler);
    expect(skippedTicks).toBe(0);
    expect(samples.length).toBeGreaterThanOrEqual(20);
    expect(finished).not.toEqual([...finished].sort((a, b) => a - b));
    const starts = samples.map((s) => s.at).sort((a, b) => a - b);
    expect(starts.slice(0, 5)).toEqual([1_000_000, 1_000_100, 1_000_200, 1_000_300, 1_000_400]);
    expect(quorumReport(samples)).toMatchObject({ medianIntervalMs: 100, p95IntervalMs: 100, longestEtcdGapMs: 0 });
    expect(samples.every((s) => s.managers === 3)).toBe(true);
  });

  it('refreshes the manager list in its own loop, once a second, and a listing slower than a tick delays no sample', async () => {
    let listings = 0;
    const sampler = startQuorumSampler({
      ...TIMING,
      // The first listing is quick; later ones take 600 ms, like DescribeInstances on a loaded machine.
      listManagers: async () => {
        listings++;
        const list = Array.from({ length: listings }, (_, i) => `m${i}`);
        return listings === 1 ? list : after(600, list);
      },
      probe: async () => healthy,
    });
    await vi.advanceTimersByTimeAsync(2_550);
    const { samples } = await stopped(sampler);
    expect(listings).toBe(3);
    const at = new Map(samples.map((s) => [s.at - 1_000_000, s.managers]));
    // The second listing (started at 1000 ms) answered at 1600 ms; samples asked the list they had.
    expect([at.get(0), at.get(900), at.get(1500), at.get(1600), at.get(2500)]).toEqual([1, 1, 1, 2, 2]);
    expect(quorumReport(samples).medianIntervalMs).toBe(100);
  });

  it('skips and counts ticks while too many samples still wait on their checks, and keeps the last list when a listing fails', async () => {
    let listings = 0;
    const sampler = startQuorumSampler({
      ...TIMING,
      maxInFlight: 5,
      listManagers: async () => {
        if (++listings > 1) throw new Error('describing instances: connection refused');
        return ['m1'];
      },
      // A manager that hangs until each check's own timeout (3 s) and then says no quorum.
      probe: () => after(3_000, { etcd: false, swarm: false, etcdDetail: 'm1: timeout' }),
    });
    // Ticks at 0, 100, ... 2000 ms: five samples start, the other 16 ticks find five in flight.
    await vi.advanceTimersByTimeAsync(2_000);
    // From 3000 ms on the first samples are in and new ones start, on the list of the
    // first listing: every later listing failed.
    await vi.advanceTimersByTimeAsync(1_500);
    const { samples, skippedTicks: skipped } = await stopped(sampler);
    const starts = samples.map((s) => s.at - 1_000_000).sort((a, b) => a - b);
    expect(starts.slice(0, 5)).toEqual([0, 100, 200, 300, 400]);
    expect(starts[5]).toBeGreaterThanOrEqual(3_000);
    expect(skipped).toBeGreaterThanOrEqual(16);
    expect(listings).toBeGreaterThanOrEqual(4);
    expect(samples.every((s) => s.managers === 1 && !s.etcd && s.etcdDetail === 'm1: timeout')).toBe(true);
  });

  it('leaves out a sample without quorum that lived through a stall of its own process, and says how long the stall was', async () => {
    let phase: 'healthy' | 'slow' = 'healthy';
    const sampler = startQuorumSampler({
      ...TIMING,
      listManagers: async () => ['m1'],
      // While slow, a check times out after 1.5 s: no answer, no quorum.
      probe: () => (phase === 'slow' ? after(1_500, { etcd: false, swarm: false, etcdDetail: 'm1: timeout' }) : Promise.resolve(healthy)),
    });
    await vi.advanceTimersByTimeAsync(1_000);
    phase = 'slow';
    await vi.advanceTimersByTimeAsync(250); // the samples of 1100 and 1200 ms wait on their checks
    // The test's process holds the event loop for 3 s (a synchronous call): the clock moves, no timer runs.
    vi.setSystemTime(Date.now() + 3_000);
    phase = 'healthy';
    await vi.advanceTimersByTimeAsync(2_000);
    const sampling = await stopped(sampler);
    expect(sampling.inconclusiveSamples).toBe(2);
    expect(sampling.samples.every((s) => s.etcd && s.swarm)).toBe(true);
    const r = quorumReport(sampling.samples, sampling);
    expect(r).toMatchObject({ longestEtcdGapMs: 0, longestSwarmGapMs: 0, inconclusiveSamples: 2 });
    expect(r.longestStallMs).toBeGreaterThanOrEqual(3_000);
    expect(r.stalls).toEqual([{ at: new Date(1_001_300).toISOString(), ms: r.longestStallMs }]);
  });

  it('records a probe that failed as a sample without quorum, so that a broken check cannot hide a gap', async () => {
    const sampler = startQuorumSampler({
      ...TIMING,
      listManagers: async () => ['m1'],
      probe: async () => {
        throw new Error('no address');
      },
    });
    await vi.advanceTimersByTimeAsync(250);
    const { samples } = await stopped(sampler);
    expect(samples).toHaveLength(3);
    expect(samples[0]).toMatchObject({ etcd: false, swarm: false, etcdDetail: 'probe failed: no address' });
  });
});

/** Stops the sampler, running the fake clock until its last samples are in. */
async function stopped(sampler: ReturnType<typeof startQuorumSampler>): ReturnType<ReturnType<typeof startQuorumSampler>['stop']> {
  const result = sampler.stop();
  await vi.runAllTimersAsync();
  return result;
}
