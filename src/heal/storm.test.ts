// "A flood of alerts cannot make the controller replace more than maxUnhealthy allows",
// checked on the pure planner with the marks the webhook writes. The end-to-end version
// on real processes is test/integration/heal-storm.test.ts.
import { describe, expect, it } from 'vitest';
import { plan } from '../plan/plan.ts';
import { aManager, aSnapshot, aSpec, aWorker, NOW } from '../../test/unit/builders.ts';

const alertMark = { source: 'alert' as const, reason: 'Alert SwarmNodeDown firing', since: NOW - 600_000, expiresAt: NOW + 600_000 };
const spec = aSpec({ managers: 1, workers: 3, healing: { maxUnhealthy: 1, unhealthyAfterSeconds: 5, minHealthySeconds: 0 } });

describe('alert storm over maxUnhealthy (planner)', () => {
  it('replaces nothing, launches nothing, and holds with MaxUnhealthyExceeded', () => {
    const snapshot = aSnapshot({ spec, nodes: [aManager(), aWorker({ marks: [alertMark] }), aWorker({ marks: [alertMark] }), aWorker()] });
    const result = plan(spec, snapshot, { now: NOW });
    expect(result.steps.map((s) => `${s.kind} (${s.reason})`)).toEqual([]);
    expect(result.holds).toContainEqual(expect.objectContaining({ rule: 'R10-remediation-brakes', reason: 'MaxUnhealthyExceeded' }));
  });

  it('within maxUnhealthy, replaces the one marked worker', () => {
    const snapshot = aSnapshot({ spec, nodes: [aManager(), aWorker({ marks: [alertMark] }), aWorker(), aWorker()] });
    const kinds = plan(spec, snapshot, { now: NOW }).steps.map((s) => s.kind);
    expect(kinds.some((k) => k === 'swarm.drain' || k === 'instance.launch')).toBe(true);
  });
});
