// The quorum watcher's verdict on a run of samples (test/support/quorum-report.ts): the
// tests that watch a cluster's rafts fail on its longest gap, so a gap must not hide.
import { describe, expect, it } from 'vitest';
import { quorumReport, type QuorumSample } from '../support/quorum-watcher.ts';

/** One sample every 100 ms; each character is etcd then swarm: 'y' quorum, 'n' none. */
function samples(...pairs: string[]): QuorumSample[] {
  return pairs.map((p, i) => ({ at: 1_000_000 + i * 100, etcd: p[0] === 'y', swarm: p[1] === 'y', managers: 1 }));
}

describe('quorumReport', () => {
  it('measures a gap from its first sample without quorum to the next one with it', () => {
    const r = quorumReport(samples('yy', 'yn', 'nn', 'nn', 'yy', 'yy'));
    expect(r).toMatchObject({ samples: 6, longestEtcdGapMs: 200, longestSwarmGapMs: 300, etcdFailures: 2, swarmFailures: 3 });
  });

  it('leaves out the time before the rafts first formed', () => {
    const r = quorumReport(samples('nn', 'nn', 'yy', 'yy'));
    expect(r).toMatchObject({ longestEtcdGapMs: 0, longestSwarmGapMs: 0, etcdFailures: 0, swarmFailures: 0 });
  });

  it('counts a gap still open at the end up to the last sample', () => {
    expect(quorumReport(samples('yy', 'ny', 'ny', 'ny')).longestEtcdGapMs).toBe(200);
  });

  it('reports a raft never seen with a quorum as one gap as long as the sampling', () => {
    const r = quorumReport(samples('ny', 'ny', 'ny', 'ny'));
    expect(r).toMatchObject({ longestEtcdGapMs: 300, etcdFailures: 4, longestSwarmGapMs: 0, swarmFailures: 0 });
    expect(r.etcdGaps).toHaveLength(0);
    const long = quorumReport(samples(...Array.from({ length: 30 }, () => 'yn')));
    expect(long.longestSwarmGapMs).toBe(2_900);
    expect(quorumReport(samples(...Array.from({ length: 30 }, () => 'nn'))).etcdGaps).toEqual([
      expect.objectContaining({ ms: 2_900, detail: expect.stringMatching(/^never had a quorum/) }),
    ]);
  });

  it('orders samples by their start time: samples that finished out of order give the same gaps', () => {
    const inOrder = samples('yy', 'yn', 'nn', 'nn', 'yy', 'yy');
    // Completion order: a slow sample (the first without quorum) finishes last.
    const finished = [inOrder[0], inOrder[2], inOrder[3], inOrder[4], inOrder[5], inOrder[1]] as QuorumSample[];
    expect(quorumReport(finished)).toEqual(quorumReport(inOrder));
    expect(quorumReport(finished)).toMatchObject({ longestEtcdGapMs: 200, longestSwarmGapMs: 300 });
  });

  it('says the achieved interval: median and 95th percentile of the time between sample starts', () => {
    // 20 intervals: 18 of 100 ms, then two of 400 ms (the process was busy).
    const intervals = [...Array.from({ length: 18 }, () => 100), 400, 400];
    const starts = intervals.reduce((at, ms) => [...at, (at.at(-1) as number) + ms], [1_000_000]);
    const r = quorumReport(starts.map((at) => ({ at, etcd: true, swarm: true, managers: 3 })).reverse(), {
      skippedTicks: 2,
      inconclusiveSamples: 1,
      stalls: [
        { from: 1_000_500, to: 1_001_400 },
        { from: 1_002_000, to: 1_002_400 },
      ],
    });
    expect(r).toMatchObject({
      samples: 21,
      medianIntervalMs: 100,
      p95IntervalMs: 400,
      skippedTicks: 2,
      inconclusiveSamples: 1,
      longestStallMs: 900,
    });
    expect(r.stalls).toEqual([]); // none over a second
    expect(quorumReport(samples('yy', 'yy', 'yy'))).toMatchObject({ medianIntervalMs: 100, p95IntervalMs: 100, skippedTicks: 0 });
    expect(quorumReport([])).toMatchObject({ samples: 0, medianIntervalMs: 0, p95IntervalMs: 0 });
  });
});
