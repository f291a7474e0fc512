import { describe, expect, it } from 'vitest';
import { aManager, anOperation, aSnapshot, aSpec, NOW } from '../../test/unit/builders.ts';
import { plan } from './plan.ts';
import { unseenLaunches } from './tokens.ts';

// A launch of two managers finished a minute ago (inside the listing-lag window); one of
// its instances (m3) was since removed by the controller after it died.
const spec = aSpec({ managers: 3, workers: 0 });
const token = 'prod-g1-m2';
const launch = anOperation({
  stepKind: 'instance.launch',
  target: `managerx2/${token}`,
  state: 'done',
  startedAt: NOW - 60_000,
  instanceIds: ['m2', 'm3'],
});

describe('unseenLaunches', () => {
  it('does not count an instance the controller terminated as a listing lag', () => {
    const terminated = anOperation({ stepKind: 'instance.terminate', target: 'm3', state: 'done' });
    const snap = aSnapshot({ spec, nodes: [aManager(), aManager({ clientToken: token })], operations: [launch, terminated] });
    expect(unseenLaunches(snap, NOW, 600_000)).toEqual([]);
    const steps = plan(spec, snap, { now: NOW }).steps;
    expect(steps.map((s) => s.kind)).toContain('instance.launch');
  });

  it('does not hold anything for a launch whose instances were all terminated', () => {
    const ops = [
      launch,
      anOperation({ stepKind: 'instance.terminate', target: 'm2', state: 'done' }),
      anOperation({ stepKind: 'instance.terminate', target: 'm3', state: 'done' }),
    ];
    const snap = aSnapshot({ spec, nodes: [aManager()], operations: ops });
    expect(unseenLaunches(snap, NOW, 600_000)).toEqual([]);
  });

  it('still waits for an instance of the launch that is neither listed nor terminated', () => {
    const snap = aSnapshot({ spec, nodes: [aManager(), aManager({ clientToken: token })], operations: [launch] });
    expect(unseenLaunches(snap, NOW, 600_000)).toMatchObject([{ token, missing: 1 }]);
    expect(plan(spec, snap, { now: NOW }).steps.map((s) => s.kind)).not.toContain('instance.launch');
  });
});
