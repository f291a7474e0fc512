import { describe, expect, it } from 'vitest';
import { stepTarget, toOperations, type JournalEntry } from './journal.ts';
import type { Step } from '../plan/steps.ts';
import { targetOf } from '../plan/targets.ts';

const launch: Step = {
  kind: 'instance.launch',
  role: 'worker',
  count: 2,
  clientToken: 'c-g1-w0',
  configHash: 'h',
  reason: 'r',
  rule: 'converge',
};
const terminate = (id: string): Step => ({ kind: 'instance.terminate', instanceId: id, role: 'worker', reason: 'r', rule: 'converge' });

function anEntry(step: Step, o: Partial<JournalEntry> = {}): JournalEntry {
  return {
    id: `e-${stepTarget(step)}`,
    stepKind: step.kind,
    target: stepTarget(step),
    startedAt: 1,
    updatedAt: 1,
    state: 'done',
    attempts: 1,
    step,
    ...o,
  };
}

describe('journal entries as snapshot operations', () => {
  it('carries the instance ids a launch produced (the planner accounts for terminated ones)', () => {
    const l = anEntry(launch, { instanceIds: ['i-1', 'i-2'] });
    expect(toOperations([l, anEntry(terminate('i-1'))]).map((o) => [o.stepKind, o.instanceIds])).toEqual([
      ['instance.launch', ['i-1', 'i-2']],
      ['instance.terminate', undefined],
    ]);
  });

  it('passes every entry through, with what it knows (the planner decides what counts: plan/tokens.ts)', () => {
    const running = anEntry(launch, { state: 'running', instanceIds: ['i-1'] });
    const unknown = anEntry(launch, { id: 'x', instanceIds: undefined });
    const failedTerminate = anEntry(terminate('i-1'), { state: 'failed' });
    const ops = toOperations([running, unknown, failedTerminate]);
    expect(ops.map((o) => [o.state, o.instanceIds])).toEqual([
      ['running', ['i-1']],
      [unknown.state, undefined],
      ['failed', undefined],
    ]);
  });

  it('names targets exactly as the planner does (it matches journal entries to planned steps)', () => {
    const steps: Step[] = [
      launch,
      terminate('i-1'),
      { kind: 'etcd.removeMember', memberId: '7', reason: 'r', rule: 'converge' },
      { kind: 'etcd.moveLeader', fromMemberId: '1', toMemberId: '2', reason: 'r', rule: 'converge' },
      { kind: 'swarm.removeNode', nodeId: 'n', force: true, reason: 'r', rule: 'converge' },
      { kind: 'cluster.publishEndpoints', clientURLs: [], reason: 'r', rule: 'converge' },
      { kind: 'swarm.drain', instanceId: 'i-3', nodeId: 'n3', reason: 'r', rule: 'converge' },
    ];
    for (const s of steps) expect(stepTarget(s)).toBe(targetOf(s));
  });
});
