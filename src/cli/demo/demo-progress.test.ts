import { describe, expect, it } from 'vitest';
import type { SwarmClusterStatus } from '../../spec/schema.ts';
import { convergedOn, DemoProgress } from './demo-progress.ts';
import { pickVictim } from './demo-stages.ts';

function aStatus(overrides: Partial<SwarmClusterStatus> = {}): SwarmClusterStatus {
  return {
    phase: 'Ready',
    managers: { desired: 1, ready: 1 },
    workers: { desired: 0, ready: 0 },
    nodes: [{ instanceId: 'lc-1', role: 'manager', instanceState: 'running', healthy: true }],
    ...overrides,
  };
}

describe('DemoProgress', () => {
  it('prints steps and resolves when a cycle meets the goal', async () => {
    const lines: string[] = [];
    const p = new DemoProgress((l) => lines.push(l));
    const done = p.waitFor(convergedOn(1, 0), 'converging', 10_000, new AbortController().signal);
    p.onEvent({
      type: 'cycle',
      cluster: 'demo',
      cycle: '1',
      phase: 'Provisioning',
      planned: 1,
      executed: 1,
      status: aStatus({ phase: 'Provisioning' }),
    });
    p.onEvent({
      type: 'step',
      cluster: 'demo',
      cycle: '1',
      status: 'started',
      message: 'Launching 1 manager',
      step: { kind: 'cluster.publishEndpoints', clientURLs: [], reason: 'r' } as never,
    });
    p.onEvent({ type: 'cycle', cluster: 'demo', cycle: '2', phase: 'Ready', planned: 0, executed: 0, status: aStatus() });
    await done;
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ {2}\[ +\d+\.\d s\] Launching 1 manager$/);
  });
  it('rejects on abort', async () => {
    const ac = new AbortController();
    const p = new DemoProgress(() => undefined);
    const done = p.waitFor(convergedOn(3, 2), 'converging', 10_000, ac.signal);
    ac.abort();
    await expect(done).rejects.toThrow('interrupted');
  });
  it('needs every node healthy and the counts right', () => {
    expect(convergedOn(1, 0)(aStatus())).toBe(true);
    expect(convergedOn(1, 1)(aStatus())).toBe(false);
    expect(convergedOn(1, 0)(aStatus({ nodes: [{ instanceId: 'lc-1', role: 'manager', instanceState: 'running', healthy: false }] }))).toBe(
      false,
    );
  });
});

describe('pickVictim', () => {
  const row = (instanceId: string, etcdMembership: string, healthy = true) => ({
    instanceId,
    role: 'manager' as const,
    instanceState: 'running',
    etcdMembership,
    healthy,
  });
  it('kills a healthy follower, else the last manager', () => {
    expect(pickVictim({ nodes: [row('a', 'voter (leader)'), row('b', 'voter'), row('c', 'voter', false)] })).toBe('b');
    expect(pickVictim({ nodes: [row('a', 'voter (leader)')] })).toBe('a');
    expect(() => pickVictim({ nodes: [] })).toThrow(/no manager/);
  });
});
