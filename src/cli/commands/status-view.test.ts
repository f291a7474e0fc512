import { describe, expect, it } from 'vitest';
import { printable } from '../output.ts';
import { buildStatusView, renderStatusText } from './status-view.ts';
import type { SwarmCluster, SwarmClusterStatus } from '../../spec/schema.ts';
import type { JournalEntry } from '../../store/journal.ts';

const cluster = (overrides: Partial<SwarmCluster['metadata']> = {}): SwarmCluster => ({
  apiVersion: 'swarmkeeper.dev/v1alpha1',
  kind: 'SwarmCluster',
  metadata: { name: 'prod', generation: 3, ...overrides },
  spec: { managers: { count: 3 }, workers: { count: 1 }, provider: { local: {} } },
});

const status: SwarmClusterStatus = {
  observedGeneration: 3,
  phase: 'Provisioning',
  managers: { desired: 3, ready: 1 },
  workers: { desired: 1, ready: 0 },
  conditions: [
    { type: 'Ready', status: 'False', reason: 'WaitingForNodes', message: 'managers 1/3', lastTransitionTime: '2026-01-01T00:00:00.000Z' },
  ],
  nodes: [
    {
      instanceId: 'lc-1',
      role: 'manager',
      address: '127.200.0.2',
      instanceState: 'running',
      swarmNodeId: 'n1',
      swarmState: 'ready',
      swarmRole: 'manager',
      availability: 'active',
      etcdMemberId: 'a',
      etcdMembership: 'voter (leader)',
      healthy: true,
    },
    { instanceId: 'lc-2', role: 'worker', instanceState: 'pending', healthy: false, marks: ['detector:startup: never joined'] },
  ],
  holds: [],
};

const entry = (id: string, state: JournalEntry['state'], extra: Partial<JournalEntry> = {}): JournalEntry => ({
  id,
  stepKind: 'instance.launch',
  target: `t-${id}`,
  startedAt: 0,
  updatedAt: 0,
  state,
  attempts: 1,
  step: { kind: 'instance.launch', role: 'worker', count: 1, clientToken: 'tok', configHash: 'h', reason: 'r', rule: 'converge' },
  ...extra,
});

describe('status view', () => {
  it('carries nodes, conditions and the newest operations first, limited', () => {
    const journal = [entry('1', 'done', { result: 'launched lc-1' }), entry('2', 'failed', { error: 'boom' }), entry('3', 'running')];
    const v = buildStatusView(cluster(), status, journal, { operations: 2 });
    expect(v.operations.map((o) => o.id)).toEqual(['3', '2']);
    expect(v.nodes).toHaveLength(2);
    expect(v.phase).toBe('Provisioning');
    expect(v.managers).toEqual({ desired: 3, ready: 1 });
  });

  it('renders every node with role, id, address, swarm state, etcd membership and health', () => {
    const text = renderStatusText(
      buildStatusView(cluster(), status, [entry('2', 'failed', { error: 'boom' })], { specError: 'spec.managers.count: must be odd' }),
    );
    expect(text).toContain('Cluster prod: Provisioning (generation 3, observed 3)');
    expect(text).toMatch(/manager\s+lc-1\s+127\.200\.0\.2\s+running\s+manager\/ready\s+voter \(leader\)\s+healthy/);
    expect(text).toMatch(/worker\s+lc-2\s+-\s+pending\s+-\s+-\s+unhealthy \(detector:startup: never joined\)/);
    expect(text).toContain('Spec rejected: spec.managers.count: must be odd');
    expect(text).toMatch(/instance\.launch\s+t-2\s+failed\s+boom/);
  });

  it('shows the last backup and a newer failure', () => {
    const backup = {
      lastBackup: {
        name: 'prod-20261201t120000000z-scheduled',
        takenAt: '2026-12-01T12:00:00.000Z',
        purpose: 'scheduled',
        sizeBytes: 20480,
        durationSeconds: 0.25,
      },
      lastFailure: { at: '2026-12-01T13:00:00.000Z', purpose: 'pre-change', error: 'streaming an etcd snapshot: refused' },
    };
    const text = renderStatusText(buildStatusView(cluster(), { ...status, backup }, []));
    expect(text).toContain('Last backup: prod-20261201t120000000z-scheduled (scheduled, 2026-12-01T12:00:00.000Z, 20480 bytes, 0.25s)');
    expect(text).toContain('Last backup failure: 2026-12-01T13:00:00.000Z (pre-change): streaming an etcd snapshot: refused');
    expect(renderStatusText(buildStatusView(cluster(), status, []))).not.toContain('Last backup');
  });

  it('says Unknown and (none) before the controller wrote any status', () => {
    const text = renderStatusText(buildStatusView(cluster(), undefined, []));
    expect(text).toContain('Cluster prod: Unknown');
    expect(text).toContain('(none)');
  });
});

describe('printable', () => {
  it('strips escape sequences and control characters from text that came from outside', () => {
    expect(printable('Alert X firing: \u001b]0;pwned\u0007disk \u001b[31mfull\u001b[0m\nnow\u0000')).toBe('Alert X firing: disk full now?');
  });
});
