// CycleView: which sources a step re-reads before its precondition is checked, and when
// the whole world is observed again.
import { describe, expect, it } from 'vitest';
import { CycleView } from './cycle-view.ts';
import type { SourceRefresh } from '../observe/observe.ts';
import type { Instance, Snapshot } from '../model/snapshot.ts';
import type { Step } from '../plan/steps.ts';

const worker = (id: string): Instance => ({ id, role: 'worker', state: 'running', launchedAt: 0, configHash: 'h', tags: {} });
const snap = (observedAt: number, ids: string[]): Snapshot => ({
  observedAt,
  instances: { status: 'ok', value: ids.map(worker) },
  swarm: { status: 'ok', value: { initialized: true, nodes: [] } },
  etcd: { status: 'ok', value: { members: [], alarms: [] } },
  marks: [],
  operations: [],
  controls: [],
});
const launch: Step = {
  kind: 'instance.launch',
  role: 'worker',
  count: 1,
  clientToken: 't',
  configHash: 'h',
  reason: 'scale',
  rule: 'converge',
};
const drain: Step = { kind: 'swarm.drain', nodeId: 'n1', instanceId: 'i-1', reason: 'scale', rule: 'R8-worker-removal-order' };
const terminate: Step = { kind: 'instance.terminate', instanceId: 'i-1', role: 'worker', reason: 'scale', rule: 'R8-worker-removal-order' };

function aView(now: { t: number }) {
  const calls: string[] = [];
  const view = new CycleView({
    observe: async () => {
      calls.push('observe');
      return snap(now.t, ['i-1', 'i-2']);
    },
    refresh: async (base: Snapshot, parts: SourceRefresh) => {
      calls.push(`refresh ${Object.keys(parts).sort().join(',')}`);
      return base;
    },
    now: () => now.t,
    maxAgeMs: 30_000,
  });
  return { view, calls };
}

describe('CycleView', () => {
  it('re-checks a launch on the cycle observation and a destructive step on re-read swarm, etcd and journal', async () => {
    const now = { t: 1000 };
    const { view, calls } = aView(now);
    view.start(snap(1000, ['i-1']));
    await view.forStep(launch);
    await view.forStep(drain);
    expect(calls).toEqual(['refresh etcd,operations,swarm']);
  });

  it('observes the whole world again once the view is older than its limit, or before the cycle has one', async () => {
    const now = { t: 0 };
    const { view, calls } = aView(now);
    await view.forStep(launch);
    now.t = 31_000;
    await view.forStep(launch);
    expect(calls).toEqual(['observe', 'observe']);
  });

  it('adds what a launch produced and drops what a step terminated', async () => {
    const now = { t: 0 };
    const { view } = aView(now);
    view.start(snap(0, ['i-1']));
    view.after(launch, [worker('i-9')]);
    view.after(terminate, undefined);
    const s = await view.forStep(launch);
    expect(s.instances.status === 'ok' && s.instances.value.map((i) => i.id)).toEqual(['i-9']);
  });
});
