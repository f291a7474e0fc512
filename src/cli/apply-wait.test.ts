import { describe, expect, it } from 'vitest';
import type { StoredCluster } from '../store/port.ts';
import type { SwarmClusterStatus } from '../spec/schema.ts';
import { DEGRADED_GRACE_MS, judgeProgress } from './apply-wait.ts';

function stored(generation: number, status?: SwarmClusterStatus): StoredCluster {
  return {
    cluster: {
      apiVersion: 'swarmkeeper.dev/v1alpha1',
      kind: 'SwarmCluster',
      metadata: { name: 'c', generation },
      spec: {} as StoredCluster['cluster']['spec'],
    },
    specRevision: '1',
    ...(status ? { status } : {}),
  };
}

const degraded = (observedGeneration: number, phase: SwarmClusterStatus['phase']): SwarmClusterStatus => ({
  observedGeneration,
  phase,
  conditions: [
    { type: 'Degraded', status: 'True', reason: 'Held', message: 'rule R2 holds a removal', lastTransitionTime: '2026-01-01T00:00:00Z' },
  ],
});

describe('apply --wait judges whether the applied generation can still become Ready', () => {
  it('waits while the controller has not observed the generation, even if the old one was Degraded', () => {
    expect(judgeProgress(stored(2, degraded(1, 'Frozen')), 2, 0, DEGRADED_GRACE_MS * 2).kind).toBe('waiting');
  });
  it('gives Frozen the same grace (a new cluster is briefly Frozen), then fails with the Degraded message', () => {
    expect(judgeProgress(stored(2, degraded(2, 'Frozen')), 2, 0, 10).kind).toBe('waiting');
    expect(judgeProgress(stored(2, degraded(2, 'Frozen')), 2, 0, DEGRADED_GRACE_MS)).toEqual({
      kind: 'failed',
      message: 'the cluster has been Frozen for 60s: rule R2 holds a removal',
    });
  });
  it('gives a Degraded phase its grace period, then fails', () => {
    expect(judgeProgress(stored(2, degraded(2, 'Degraded')), 2, 1000, 1000 + DEGRADED_GRACE_MS - 1).kind).toBe('waiting');
    const late = judgeProgress(stored(2, degraded(2, 'Degraded')), 2, 1000, 1000 + DEGRADED_GRACE_MS);
    expect(late).toEqual({ kind: 'failed', message: 'the cluster has been Degraded for 60s: rule R2 holds a removal' });
  });
  it('fails when the cluster is deleted or a newer generation is applied meanwhile', () => {
    expect(judgeProgress(undefined, 2, undefined, 0).kind).toBe('failed');
    expect(judgeProgress(stored(3), 2, undefined, 0)).toEqual({ kind: 'failed', message: 'generation 3 was applied meanwhile' });
  });
});
