// The simulator on its own: the join protocol, the ports' error semantics, the quorum
// bookkeeping that the property suite relies on, and determinism by seed.
import { describe, expect, it } from 'vitest';
import { isSwarmkeeperError } from '../../errors.ts';
import { etcdPeerUrl } from '../../model/snapshot.ts';
import { resolveSpec } from '../../spec/defaults.ts';
import type { Role } from '../../spec/schema.ts';
import { SimWorld } from './index.ts';

const spec = resolveSpec('sim', 1, { managers: { count: 3 }, workers: { count: 1 }, provider: { sim: {} } });

async function launch(world: SimWorld, role: Role, token: string) {
  const [inst] = await world.provider.launch({
    spec,
    role,
    count: 1,
    clientToken: token,
    configHash: 'h',
    agent: { cluster: 'sim', role, managementEtcd: { endpoints: [], prefix: '/sk' } },
  });
  if (!inst) throw new Error('no instance');
  return inst;
}

async function bootstrapped(seed = 7): Promise<SimWorld> {
  const world = new SimWorld({ seed });
  await launch(world, 'manager', 'm0');
  world.advance(120_000);
  return world;
}

describe('SimWorld', () => {
  it('the first manager initialises etcd and the swarm; later nodes join as workers', async () => {
    const world = await bootstrapped();
    expect(world.swarmInitialized).toBe(true);
    expect((await world.etcd.listMembers()).map((m) => m.isLearner)).toEqual([false]);
    const m2 = await launch(world, 'manager', 'm1');
    world.advance(120_000);
    const node = (await world.swarm.listNodes()).find((n) => n.instanceId === m2.id);
    expect(node?.role).toBe('worker');
    expect(world.publishedClientURLs).toHaveLength(1);
  });

  it('a learner starts once listed, and promotion fails until it caught up', async () => {
    const world = await bootstrapped();
    const m2 = await launch(world, 'manager', 'm1');
    world.advance(120_000);
    const address = (await world.provider.list('sim')).find((i) => i.id === m2.id)?.address ?? '';
    const id = await world.etcd.addLearner([etcdPeerUrl(address)]);
    await expect(world.etcd.promote(id)).rejects.toSatisfy((e: unknown) => isSwarmkeeperError(e, 'Precondition'));
    await expect(world.etcd.addLearner(['http://10.1.1.1:2380'])).rejects.toSatisfy((e: unknown) => isSwarmkeeperError(e, 'Conflict'));
    world.advance(30_000);
    const learner = (await world.etcd.listMembers()).find((m) => m.id === id);
    expect(learner?.name).toBe(m2.id);
    await world.etcd.promote(id);
    expect(world.controllerQuorumLosses()).toEqual([]);
  });

  it('records a quorum loss and who caused it', async () => {
    const world = await bootstrapped();
    const m2 = await launch(world, 'manager', 'm1');
    world.advance(120_000);
    const address = (await world.provider.list('sim')).find((i) => i.id === m2.id)?.address ?? '';
    const id = await world.etcd.addLearner([etcdPeerUrl(address)]);
    world.advance(30_000);
    await world.etcd.promote(id);
    world.kill(m2.id); // fault: 1 healthy of 2 voters
    expect(world.quorumEvents.at(-1)).toMatchObject({ raft: 'etcd', kind: 'lost', cause: 'fault' });
    expect(world.controllerQuorumLosses()).toEqual([]);
    await expect(world.etcd.removeMember(id)).rejects.toSatisfy((e: unknown) => isSwarmkeeperError(e, 'Unavailable'));
  });

  it('a controller call that costs quorum is not refused: it is recorded as caused by the controller', async () => {
    const world = await bootstrapped();
    const m2 = await launch(world, 'manager', 'm1');
    world.advance(120_000);
    const node = (await world.swarm.listNodes()).find((n) => n.instanceId === m2.id);
    if (!node) throw new Error('not joined');
    world.partition(m2.id); // a worker: no raft effect
    expect(world.quorumEvents).toEqual([]);
    await world.swarm.setRole(node.id, node.version, 'manager'); // 1 reachable of 2 managers
    expect(world.controllerQuorumLosses()).toMatchObject([{ raft: 'swarm', kind: 'lost', cause: 'controller' }]);
  });

  it('launch is idempotent on the client token; terminate of a gone instance resolves', async () => {
    const world = new SimWorld({ seed: 3 });
    const a = await launch(world, 'worker', 'tok');
    const b = await launch(world, 'worker', 'tok');
    expect(b.id).toBe(a.id);
    expect(world.launchesByToken.get('tok')).toEqual([a.id]);
    await world.provider.terminate('sim', a.id);
    await world.provider.terminate('sim', a.id);
    expect(await world.provider.list('sim')).toEqual([]);
  });

  it('API faults surface as Throttled / Unavailable errors', async () => {
    const world = new SimWorld({ seed: 5, faults: { throttle: 1 } });
    await expect(world.provider.list('sim')).rejects.toSatisfy((e: unknown) => isSwarmkeeperError(e, 'Throttled'));
  });

  it('attachInstance boots an instance launched elsewhere by the same protocol', async () => {
    const world = await bootstrapped();
    world.attachInstance(
      {
        id: 'i-0123456789abcdef0',
        role: 'worker',
        state: 'running',
        launchedAt: world.now,
        address: '10.200.0.5',
        configHash: 'h',
        tags: {},
      },
      'sim',
    );
    world.advance(20_000);
    expect((await world.swarm.listNodes()).some((n) => n.instanceId === 'i-0123456789abcdef0' && n.state === 'ready')).toBe(true);
  });

  it('is deterministic for a seed', async () => {
    const a = await bootstrapped(11);
    const b = await bootstrapped(11);
    expect(await a.provider.list('sim')).toEqual(await b.provider.list('sim'));
    expect(await a.etcd.view()).toEqual(await b.etcd.view());
  });
});
