// The planner's backup rules: a snapshot of the current membership before every manager
// membership change, a hold (with its override) when that snapshot failed, and the
// schedule. Hand-written snapshots (test/unit/builders.ts).
import { describe, expect, it } from 'vitest';
import { aConvergedCluster, aManager, aSnapshot, aSpec, aWorker, NOW } from '../../test/unit/builders.ts';
import type { BackupObservation, Snapshot } from '../model/snapshot.ts';
import { membershipFingerprint, PRE_CHANGE_RETRY_MS } from './backups.ts';
import { plan } from './plan.ts';
import { MEMBERSHIP_STEP_KINDS } from './steps.ts';

const backed = aSpec({ managers: 3, workers: 2, backup: { intervalSeconds: 3600 } });
const override = aSpec({ managers: 3, workers: 2, backup: { intervalSeconds: 3600, onPreChangeFailure: 'proceed' } });
const dead = { healthy: false } as const;

/** Three managers, one dead: the plan wants to demote it (a membership change). */
function deadManager(backup?: BackupObservation): Snapshot {
  const s = aSnapshot({ spec: backed, nodes: [aManager(), aManager(), aManager(dead), aWorker(), aWorker()] });
  return { ...s, ...(backup ? { backup } : {}) };
}

function kinds(steps: readonly { kind: string }[]): string[] {
  return steps.map((s) => s.kind);
}

describe('pre-change backups', () => {
  it('puts a pre-change backup in front of the membership step when no backup covers this membership', () => {
    const r = plan(backed, deadManager(), { now: NOW });
    expect(kinds(r.steps)).toEqual(['swarm.drain', 'backup.create', 'swarm.demote']);
    const b = r.steps[1];
    expect(b?.kind === 'backup.create' && b.purpose).toBe('pre-change');
    expect(b?.rule).toBe('R15-backup-before-change');
  });

  it('a backup of the current membership covers the change: no second one', () => {
    const s = deadManager();
    const r = plan(
      backed,
      { ...s, backup: { newest: { name: 'b1', takenAt: NOW - 10_000, membership: membershipFingerprint(s) } } },
      { now: NOW },
    );
    expect(kinds(r.steps)).toEqual(['swarm.drain', 'swarm.demote']);
  });

  it('a backup of an older membership does not cover the change', () => {
    const r = plan(backed, deadManager({ newest: { name: 'b1', takenAt: NOW - 10_000, membership: 'etcd:1V;swarm:x' } }), { now: NOW });
    expect(kinds(r.steps)).toContain('backup.create');
  });

  it('a failed pre-change backup holds the change, visibly, and retries after the back-off', () => {
    const s = deadManager();
    const fp = membershipFingerprint(s);
    const failed = {
      ...s,
      backup: { lastFailure: { at: NOW - 1_000, purpose: 'pre-change' as const, membership: fp, error: 'store unreachable' } },
    };
    const held = plan(backed, failed, { now: NOW });
    expect(held.steps.some((st) => MEMBERSHIP_STEP_KINDS.has(st.kind))).toBe(false);
    expect(kinds(held.steps)).not.toContain('backup.create');
    const hold = held.holds.find((h) => h.rule === 'R15-backup-before-change');
    expect(hold?.reason).toBe('PreChangeBackupFailed');
    expect(hold?.message).toContain('store unreachable');
    expect(hold?.message).toContain('onPreChangeFailure: proceed');
    expect(held.phase).toBe('Degraded');

    const retry = plan(backed, failed, { now: NOW + PRE_CHANGE_RETRY_MS });
    expect(kinds(retry.steps)).toContain('backup.create');
    expect(retry.steps.some((st) => MEMBERSHIP_STEP_KINDS.has(st.kind))).toBe(false);
  });

  it('the explicit override lets the change go on after a failed snapshot', () => {
    const s = deadManager();
    const failed = {
      ...s,
      backup: {
        lastFailure: { at: NOW - 1_000, purpose: 'pre-change' as const, membership: membershipFingerprint(s), error: 'store unreachable' },
      },
    };
    const r = plan(override, failed, { now: NOW });
    expect(kinds(r.steps)).toEqual(['swarm.drain', 'swarm.demote']);
    expect(r.holds.some((h) => h.rule === 'R15-backup-before-change')).toBe(false);
  });

  it('without spec.backup nothing changes: no backup step, no hold', () => {
    const r = plan(aSpec({ managers: 3, workers: 2 }), deadManager(), { now: NOW });
    expect(kinds(r.steps)).toEqual(['swarm.drain', 'swarm.demote']);
  });

  it('a cluster without any full member yet (new, or just restored) needs no pre-change snapshot', () => {
    const s = aSnapshot({
      spec: backed,
      nodes: [aManager({ swarmRole: 'worker' }), aManager({ member: 'none', launchedAt: NOW - 5_000 })],
      swarmInitialized: true,
    });
    const r = plan(backed, s, { now: NOW });
    expect(r.steps.filter((st) => st.kind === 'backup.create' && st.purpose === 'pre-change')).toEqual([]);
  });

  it('the fingerprint changes with every membership change', () => {
    const a = aSnapshot({ spec: backed, nodes: [aManager(), aManager(), aManager()] });
    const b = aSnapshot({ spec: backed, nodes: [aManager(), aManager(), aManager({ swarmRole: 'worker' })] });
    const c = aSnapshot({ spec: backed, nodes: [aManager(), aManager(), aManager({ member: 'learner' })] });
    expect(new Set([membershipFingerprint(a), membershipFingerprint(b), membershipFingerprint(c)]).size).toBe(3);
  });
});

describe('scheduled backups', () => {
  it('a converged cluster with no backup yet takes one and stays Ready', () => {
    const r = plan(backed, aConvergedCluster(3, 2, { spec: backed }), { now: NOW });
    expect(r.steps.map((s) => (s.kind === 'backup.create' ? s.purpose : s.kind))).toEqual(['scheduled']);
    expect(r.phase).toBe('Ready');
  });

  it('waits for the interval, then takes the next one', () => {
    const s = aConvergedCluster(3, 2, { spec: backed });
    const fresh = { ...s, backup: { newest: { name: 'b1', takenAt: NOW - 3_599_000, membership: membershipFingerprint(s) } } };
    expect(plan(backed, fresh, { now: NOW }).steps).toEqual([]);
    expect(kinds(plan(backed, fresh, { now: NOW + 1_000 }).steps)).toEqual(['backup.create']);
  });

  it('a failed scheduled backup is retried after a minute, not every cycle', () => {
    const s = {
      ...aConvergedCluster(3, 2, { spec: backed }),
      backup: { lastFailure: { at: NOW - 5_000, purpose: 'scheduled' as const, membership: 'x', error: 'boom' } },
    };
    expect(plan(backed, s, { now: NOW }).steps).toEqual([]);
    expect(kinds(plan(backed, s, { now: NOW + 60_000 }).steps)).toEqual(['backup.create']);
  });

  it('a paused cluster takes no backup', () => {
    const paused = aSpec({ managers: 3, workers: 2, backup: {}, paused: true });
    expect(plan(paused, aConvergedCluster(3, 2, { spec: paused }), { now: NOW }).steps).toEqual([]);
  });
});
