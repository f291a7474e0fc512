import { describe, expect, it } from 'vitest';
import { anOperation, NOW } from '../../test/unit/builders.ts';
import { ETCD_HEALTH_WINDOW_MS, etcdAddRefusedForMs } from './etcd-window.ts';

describe('etcdAddRefusedForMs', () => {
  it('counts the window from the start of the last learner add that went through', () => {
    const ops = [
      anOperation({ stepKind: 'etcd.addLearner', target: 'm2', state: 'done', startedAt: NOW - 9000 }),
      anOperation({ stepKind: 'etcd.addLearner', target: 'm3', state: 'done', startedAt: NOW - 1500 }),
    ];
    expect(etcdAddRefusedForMs(ops, NOW)).toBe(ETCD_HEALTH_WINDOW_MS - 1500);
  });

  it('is 0 once the window has passed, with no add in the journal, or when the last add failed', () => {
    expect(
      etcdAddRefusedForMs([anOperation({ stepKind: 'etcd.addLearner', target: 'm2', state: 'done', startedAt: NOW - 5000 })], NOW),
    ).toBe(0);
    expect(etcdAddRefusedForMs([], NOW)).toBe(0);
    expect(
      etcdAddRefusedForMs([anOperation({ stepKind: 'etcd.addLearner', target: 'm2', state: 'failed', startedAt: NOW - 100 })], NOW),
    ).toBe(0);
    expect(etcdAddRefusedForMs([anOperation({ stepKind: 'etcd.promote', target: 'm2', state: 'done', startedAt: NOW - 100 })], NOW)).toBe(
      0,
    );
  });
});
