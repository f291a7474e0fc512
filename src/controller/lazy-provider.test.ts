import { describe, expect, it } from 'vitest';
import { isSwarmkeeperError, SwarmkeeperError } from '../errors.ts';
import type { Provider } from '../providers/provider.ts';
import { SimWorld } from '../providers/sim/index.ts';
import { resolveSpec } from '../spec/defaults.ts';
import { lazyProvider } from './lazy-provider.ts';

const spec = resolveSpec('lazy', 1, { managers: { count: 1 }, workers: { count: 0 }, provider: { sim: {} } });
const agent = { cluster: 'lazy', role: 'manager' as const, managementEtcd: { endpoints: [], prefix: '/sk' } };

describe('lazyProvider', () => {
  it('forwards every call to the provider it loads', async () => {
    const world = new SimWorld({ seed: 1 });
    const provider = lazyProvider('sim', async () => world.provider);
    const [launched] = await provider.launch({ spec, role: 'manager', count: 1, clientToken: 't1', configHash: 'h', agent });
    if (!launched) throw new Error('no instance launched');
    expect((await provider.list('lazy')).map((i) => i.id)).toEqual([launched.id]);
    expect(provider.dockerEndpoint(launched)).toEqual(world.provider.dockerEndpoint(launched));
    expect(provider.etcdClientUrl(launched)).toBe(world.provider.etcdClientUrl(launched));
    await provider.terminate('lazy', launched.id);
    expect(await provider.list('lazy')).toEqual([]);
    await provider.close();
  });

  it('a synchronous call before the provider has loaded is an error naming the provider', () => {
    const provider = lazyProvider('ec2', () => new Promise<Provider>(() => undefined));
    const instance = { id: 'i-1', role: 'manager' as const, state: 'running' as const, launchedAt: 0, configHash: 'h', tags: {} };
    expect(() => provider.dockerEndpoint(instance)).toThrow(/^provider ec2: a docker endpoint was asked before the provider was loaded/);
  });

  it('a provider that fails to load fails its calls with that error, and closes cleanly', async () => {
    const provider = lazyProvider('ec2', () =>
      Promise.reject(new SwarmkeeperError('Usage', 'SWARMKEEPER_DOCKER_TLS_CA, _CERT and _KEY must be set together')),
    );
    await expect(provider.list('lazy')).rejects.toSatisfy((e) => isSwarmkeeperError(e, 'Usage'));
    await expect(provider.close()).resolves.toBeUndefined();
  });
});
