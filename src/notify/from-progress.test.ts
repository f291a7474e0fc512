import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../controller/events.ts';
import type { Step } from '../plan/steps.ts';
import type { SwarmClusterStatus } from '../spec/schema.ts';
import type { NotificationEvent } from './format.ts';
import { attachNotifier, notificationsFromProgress } from './from-progress.ts';

const terminate = (rule: Step['rule']): Step => ({
  kind: 'instance.terminate',
  instanceId: 'w1',
  role: 'worker',
  rule,
  reason: 'replace unhealthy worker w1 (alert)',
});
const stepEvent = (step: Step, status: 'done' | 'started' = 'done'): ProgressEvent => ({
  type: 'step',
  cluster: 'prod',
  cycle: 'c1',
  status,
  step,
  message: 'Terminating w1',
});
const cycle = (status: SwarmClusterStatus, phase: 'Ready' | 'Degraded' | 'Frozen' = 'Ready'): ProgressEvent => ({
  type: 'cycle',
  cluster: 'prod',
  cycle: 'c1',
  phase,
  planned: 0,
  executed: 0,
  status,
});
const cond = (type: 'Degraded' | 'SpecValid', status: 'True' | 'False', reason: string, message: string) => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: '2026-01-01T00:00:00Z',
});

describe('notificationsFromProgress', () => {
  const table: [string, ProgressEvent, NotificationEvent['kind'][]][] = [
    ['a remediation terminate done', stepEvent(terminate('R10-remediation-brakes')), ['nodeReplaced']],
    ['a manager replacement done', stepEvent(terminate('R6-replace-order')), ['nodeReplaced']],
    ['a remediation terminate only started', stepEvent(terminate('R10-remediation-brakes'), 'started'), []],
    ['a scale-down terminate', stepEvent(terminate('R9-surge-unavailable')), []],
    ['a calm cycle', cycle({ conditions: [cond('SpecValid', 'True', 'SpecAccepted', 'ok')] }), []],
    [
      'a brake hold',
      cycle(
        {
          holds: [{ rule: 'R10-remediation-brakes', reason: 'MaxUnhealthyExceeded', message: '2 unhealthy workers exceed maxUnhealthy 1' }],
        },
        'Degraded',
      ),
      ['remediationHeld'],
    ],
    ['a frozen cluster', cycle({ conditions: [cond('Degraded', 'True', 'QuorumLost', 'quorum lost')] }, 'Frozen'), ['quorumAtRisk']],
    [
      'a projected-quorum hold',
      cycle({ holds: [{ rule: 'R5-projected-quorum', reason: 'QuorumAtRisk', message: 'removing m2 would leave 1 of 3' }] }),
      ['quorumAtRisk'],
    ],
    [
      'an invalid spec',
      cycle({ conditions: [cond('SpecValid', 'False', 'SpecRejected', 'spec.managers.count: must be odd')] }),
      ['specInvalid'],
    ],
    ['leadership changes', { type: 'leadership', leader: true, identity: 'x' }, []],
  ];
  it.each(table)('%s', (_name, event, kinds) => {
    expect(notificationsFromProgress(event).map((n) => n.kind)).toEqual(kinds);
  });

  it('carries the facts people need', () => {
    expect(notificationsFromProgress(stepEvent(terminate('R10-remediation-brakes')))).toEqual([
      { kind: 'nodeReplaced', cluster: 'prod', instanceId: 'w1', role: 'worker', reason: 'replace unhealthy worker w1 (alert)' },
    ]);
  });

  it('attaches to a controller and detaches', () => {
    const controller = new EventEmitter();
    const sent: NotificationEvent[] = [];
    const detach = attachNotifier(controller as never, { notify: (n) => sent.push(n) });
    controller.emit('progress', stepEvent(terminate('R10-remediation-brakes')));
    detach();
    controller.emit('progress', stepEvent(terminate('R10-remediation-brakes')));
    expect(sent).toHaveLength(1);
  });
});
