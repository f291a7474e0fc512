import { describe, expect, it } from 'vitest';
import type { Instance } from '../model/snapshot.ts';
import type { Provider } from '../providers/provider.ts';
import { resolveSpec } from '../spec/defaults.ts';
import type { SwarmApi } from '../swarm/port.ts';
import { swarmReadiness } from './swarm-readiness.ts';

// A counting provider (no real peer needed: this tests the verdict cache, not the swarm;
// test/integration/swarm-readiness.test.ts asks real dockerd).
function countingDeps(clock: { t: number }) {
  const calls = { list: 0 };
  const manager: Instance = { id: 'm1', role: 'manager', state: 'running', launchedAt: 0, configHash: 'h', tags: {} };
  const provider = {
    name: 'local',
    list: async () => {
      calls.list += 1;
      return [manager];
    },
    dockerEndpoint: () => ({ socketPath: '/nowhere.sock' }),
  } as unknown as Provider;
  const swarm = { info: async () => ({ localNodeState: 'active', isManager: true }), close: async () => undefined } as unknown as SwarmApi;
  const check = swarmReadiness({
    listClusters: async () => [resolveSpec('alpha', 1, { managers: { count: 1 }, workers: { count: 0 }, provider: { local: {} } })],
    providerFor: () => provider,
    swarmFor: () => swarm,
    cacheMs: 10_000,
    now: () => clock.t,
  });
  return { calls, check };
}

describe('swarmReadiness verdict cache', () => {
  it('lists instances once per cache period, however often it is probed', async () => {
    const clock = { t: 0 };
    const { calls, check } = countingDeps(clock);
    expect(await Promise.all([check(), check(), check()])).toEqual([true, true, true]);
    clock.t = 9_999;
    expect(await check()).toBe(true);
    expect(calls.list).toBe(1);
    clock.t = 10_000;
    expect(await check()).toBe(true);
    expect(calls.list).toBe(2);
  });
});
