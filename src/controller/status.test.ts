import { describe, expect, it } from 'vitest';
import { buildStatus, nodeRows, statusWorthWriting } from './status.ts';
import { resolveSpec } from '../spec/defaults.ts';
import type { EtcdMember, Instance, Snapshot, SwarmNode } from '../model/snapshot.ts';
import type { PlanResult } from '../plan/steps.ts';
import { getCondition } from '../spec/conditions.ts';

const spec = resolveSpec('c', 4, { managers: { count: 1 }, workers: { count: 1 }, provider: { local: {} } });

const anInstance = (o: Partial<Instance> = {}): Instance => ({
  id: 'i-m',
  role: 'manager',
  state: 'running',
  launchedAt: 0,
  address: '127.9.0.2',
  configHash: 'h',
  tags: {},
  ...o,
});
const aNode = (o: Partial<SwarmNode> = {}): SwarmNode => ({
  id: 'n-m',
  role: 'manager',
  availability: 'active',
  state: 'ready',
  reachability: 'reachable',
  leader: true,
  instanceId: 'i-m',
  address: '127.9.0.2',
  version: 1,
  ...o,
});
const aMember = (o: Partial<EtcdMember> = {}): EtcdMember => ({
  id: '1',
  name: 'i-m',
  peerURLs: ['http://127.9.0.2:2380'],
  clientURLs: ['http://127.9.0.2:2379'],
  isLearner: false,
  healthy: true,
  leader: true,
  ...o,
});

function aSnapshot(o: Partial<Snapshot> = {}): Snapshot {
  return {
    observedAt: 1000,
    instances: { status: 'ok', value: [anInstance(), anInstance({ id: 'i-w', role: 'worker', address: '127.9.0.3', launchedAt: 1 })] },
    swarm: {
      status: 'ok',
      value: {
        initialized: true,
        nodes: [
          aNode(),
          aNode({ id: 'n-w', role: 'worker', leader: false, reachability: undefined, instanceId: 'i-w', address: '127.9.0.3' }),
        ],
      },
    },
    etcd: { status: 'ok', value: { members: [aMember()], alarms: [], leaderId: '1' } },
    marks: [],
    operations: [],
    controls: [],
    ...o,
  };
}

const ready: PlanResult = { steps: [], holds: [], phase: 'Ready' };

describe('buildStatus', () => {
  it('reports a converged cluster as Ready with per-role counts and node rows', () => {
    const s = buildStatus({ spec, snapshot: aSnapshot(), plan: ready, executed: [], now: 5000 });
    expect(s.observedGeneration).toBe(4);
    expect(getCondition(s.conditions, 'Ready')).toMatchObject({ status: 'True', reason: 'Converged' });
    expect(getCondition(s.conditions, 'Degraded')?.status).toBe('False');
    expect(getCondition(s.conditions, 'SpecValid')?.status).toBe('True');
    expect(s.managers).toEqual({ desired: 1, ready: 1 });
    expect(s.workers).toEqual({ desired: 1, ready: 1 });
    expect(s.nodes?.map((n) => [n.instanceId, n.etcdMembership, n.swarmRole, n.healthy])).toEqual([
      ['i-m', 'voter (leader)', 'manager', true],
      ['i-w', 'gateway', 'worker', true],
    ]);
  });

  it('says Degraded with ObservationIncomplete when a source could not be read, and keeps the transition time of unchanged conditions', () => {
    const first = buildStatus({ spec, snapshot: aSnapshot(), plan: ready, executed: [], now: 5000 });
    const s = buildStatus({
      spec,
      previous: first,
      snapshot: aSnapshot({ swarm: { status: 'unavailable', error: 'reading the swarm: no manager answered' } }),
      plan: { ...ready, phase: 'Degraded' },
      executed: [],
      now: 9000,
    });
    expect(getCondition(s.conditions, 'Degraded')).toMatchObject({ status: 'True', reason: 'ObservationIncomplete' });
    expect(getCondition(s.conditions, 'SpecValid')?.lastTransitionTime).toBe(new Date(5000).toISOString());
    expect(getCondition(s.conditions, 'Degraded')?.lastTransitionTime).toBe(new Date(9000).toISOString());
  });

  it('keeps SpecValid False with the error while the last good spec stays in force, and reports a cycle failure', () => {
    const s = buildStatus({
      spec,
      specError: 'spec.managers.count: must be 1, 3, 5 or 7',
      snapshot: aSnapshot(),
      plan: ready,
      executed: [],
      error: 'launching: capacity',
      now: 1,
    });
    expect(getCondition(s.conditions, 'SpecValid')).toMatchObject({ status: 'False', reason: 'SpecRejected' });
    expect(getCondition(s.conditions, 'Ready')?.status).toBe('False');
    expect(getCondition(s.conditions, 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'ProviderError',
      message: 'launching: capacity',
    });
  });

  it('says CapacityExhausted when the cycle failed for want of capacity or quota', () => {
    const error = 'launching 2 workers: InstanceLimitExceeded in subnet-0123abcd; retrying later';
    const s = buildStatus({ spec, snapshot: aSnapshot(), plan: ready, executed: [], error, errorCode: 'Capacity', now: 1 });
    expect(getCondition(s.conditions, 'Degraded')).toMatchObject({ status: 'True', reason: 'CapacityExhausted', message: error });
  });

  it('freezes with QuorumLost and shows holds', () => {
    const hold = { rule: 'R12-quorum-lost-freeze' as const, reason: 'QuorumLost', message: 'etcd has 1 of 3' };
    const s = buildStatus({ spec, snapshot: aSnapshot(), plan: { steps: [], holds: [hold], phase: 'Frozen' }, executed: [], now: 1 });
    expect(getCondition(s.conditions, 'Degraded')?.reason).toBe('QuorumLost');
    expect(s.holds).toEqual([hold]);
  });
});

describe('nodeRows', () => {
  it('marks a learner, an unstarted learner and a marked node as not healthy', () => {
    const rows = nodeRows(
      aSnapshot({
        etcd: { status: 'ok', value: { members: [aMember({ isLearner: true, name: '' })], alarms: [] } },
        marks: [{ instanceId: 'i-w', source: 'alert', reason: 'NodeDown', since: 0 }],
      }),
    );
    expect(rows[0]).toMatchObject({ etcdMembership: 'learner (not started)', healthy: false });
    expect(rows[1]).toMatchObject({ healthy: false, marks: ['alert: NodeDown'] });
  });
});

describe('statusWorthWriting', () => {
  it('writes a change at once, and an unchanged status only once a minute', () => {
    const t = Date.parse('2026-01-01T00:00:00Z');
    const prev = { phase: 'Ready' as const, lastReconcileTime: new Date(t).toISOString() };
    expect(statusWorthWriting(undefined, prev, t)).toBe(true);
    expect(statusWorthWriting(prev, { ...prev, lastReconcileTime: new Date(t + 1000).toISOString() }, t + 1000)).toBe(false);
    expect(statusWorthWriting(prev, { ...prev, lastReconcileTime: new Date(t + 61_000).toISOString() }, t + 61_000)).toBe(true);
    expect(statusWorthWriting(prev, { phase: 'Paused', lastReconcileTime: new Date(t + 1000).toISOString() }, t + 1000)).toBe(true);
  });

  it('sees a change in any node row field, a mark, or a row added, and none in a copy of the rows', () => {
    const t = Date.parse('2026-01-01T00:00:00Z');
    const row = {
      instanceId: 'i-1',
      role: 'worker' as const,
      instanceState: 'running',
      healthy: true,
      configHash: 'h',
      launchedAt: new Date(t).toISOString(),
      marks: ['alert: down'],
    };
    const prev = { phase: 'Ready' as const, lastReconcileTime: new Date(t).toISOString(), nodes: [row] };
    const at = (nodes: (typeof prev)['nodes']): boolean =>
      statusWorthWriting(prev, { ...prev, nodes, lastReconcileTime: new Date(t + 1000).toISOString() }, t + 1000);
    expect(at([JSON.parse(JSON.stringify(row)) as typeof row])).toBe(false);
    expect(at([{ ...row, healthy: false }])).toBe(true);
    expect(at([{ ...row, marks: ['alert: gone'] }])).toBe(true);
    expect(at([{ ...row, zone: 'b' } as typeof row])).toBe(true);
    expect(at([row, { ...row, instanceId: 'i-2' }])).toBe(true);
  });
});
