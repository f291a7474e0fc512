// The verdict cache of the leader's swarm readiness, against the sim (a booted manager
// answers as an active swarm manager). test/integration/swarm-readiness.test.ts asks
// real dockerd.
import { describe, expect, it, vi } from 'vitest';
import { SimWorld, simPeerFactories } from '../providers/sim/index.ts';
import { resolveSpec } from '../spec/defaults.ts';
import { swarmReadiness } from './swarm-readiness.ts';

const spec = resolveSpec('alpha', 1, { managers: { count: 1 }, workers: { count: 0 }, provider: { local: {} } });

async function aBootedCluster(): Promise<SimWorld> {
  const world = new SimWorld({ seed: 1, timings: { bootMs: [1_000, 1_000] } });
  const agent = { cluster: 'alpha', role: 'manager' as const, managementEtcd: { endpoints: ['http://127.0.0.1:2379'], prefix: '/sk' } };
  await world.provider.launch({ spec, role: 'manager', count: 1, clientToken: 'alpha-g1-m0', configHash: 'h', agent });
  world.advance(5_000);
  return world;
}

describe('swarmReadiness verdict cache', () => {
  it('lists instances once per cache period, however often it is probed', async () => {
    const world = await aBootedCluster();
    const list = vi.spyOn(world.provider, 'list');
    const clock = { t: 0 };
    const check = swarmReadiness({
      listClusters: async () => [spec],
      providerFor: () => world.provider,
      swarmFor: simPeerFactories(world).swarm,
      cacheMs: 10_000,
      now: () => clock.t,
    });
    expect(await Promise.all([check(), check(), check()])).toEqual([true, true, true]);
    clock.t = 9_999;
    expect(await check()).toBe(true);
    expect(list).toHaveBeenCalledTimes(1);
    clock.t = 10_000;
    expect(await check()).toBe(true);
    expect(list).toHaveBeenCalledTimes(2);
  });

  it('keeps a failed verdict for the cache period too, and sees the swarm answer again after it', async () => {
    const world = await aBootedCluster();
    const [manager] = await world.provider.list('alpha');
    world.cutFromController(manager!.id, true);
    const clock = { t: 0 };
    const check = swarmReadiness({
      listClusters: async () => [spec],
      providerFor: () => world.provider,
      swarmFor: simPeerFactories(world, { swarmTimeoutMs: 10 }).swarm,
      cacheMs: 10_000,
      now: () => clock.t,
    });
    expect(await check()).toBe(false);
    world.cutFromController(manager!.id, false);
    clock.t = 9_999;
    expect(await check()).toBe(false);
    clock.t = 10_000;
    expect(await check()).toBe(true);
  });
});
