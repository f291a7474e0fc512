// observeCluster against the sim (a unit test): the sim's provider lists the instances,
// and its peers answer as each node's dockerd and the cluster's etcd would, including
// nodes that refuse, never answer (dead, frozen) or are not swarm managers yet. The
// real adapters are exercised by test/integration/controller-*.
import { describe, expect, it } from 'vitest';
import { observeCluster, type ObserveDeps } from './observe.ts';
import { PeerClients } from './peer-clients.ts';
import { SimWorld, simPeerFactories } from '../providers/sim/index.ts';
import { resolveSpec } from '../spec/defaults.ts';
import type { Role } from '../spec/schema.ts';

const spec = resolveSpec('c', 1, { managers: { count: 3 }, workers: { count: 1 }, provider: { local: {} } });
/** What a node that does not answer costs before the sim's client gives up. */
const NO_ANSWER_MS = 20;

function aWorld(): SimWorld {
  return new SimWorld({ seed: 1, timings: { bootMs: [1_000, 1_000], joinMs: [1_000, 1_000] } });
}

/** Launches one instance that boots `bootMs` from now; returns its id. */
async function launch(world: SimWorld, role: Role, token: string, bootMs = 1_000): Promise<string> {
  world.slowBoots([bootMs, bootMs]);
  const agent = { cluster: 'c', role, managementEtcd: { endpoints: ['http://127.0.0.1:2379'], prefix: '/sk' } };
  const [i] = await world.provider.launch({ spec, role, count: 1, clientToken: token, configHash: 'h', agent });
  return i!.id;
}

function observe(world: SimWorld, o: Partial<ObserveDeps> = {}) {
  const peers = new PeerClients(simPeerFactories(world, { swarmTimeoutMs: NO_ANSWER_MS, etcdCallTimeoutMs: NO_ANSWER_MS }));
  return observeCluster({ cluster: 'c', provider: world.provider, peers, ...o });
}

const swarmNodeOf = (world: SimWorld, instanceId: string) => [...world.swarmNodes.values()].find((n) => n.instanceId === instanceId)!;

describe('observeCluster', () => {
  it('reads an empty cluster as ok: no swarm yet, no members', async () => {
    const s = await observe(aWorld(), { now: () => 42 });
    expect(s).toMatchObject({
      observedAt: 42,
      instances: { status: 'ok', value: [] },
      swarm: { status: 'ok', value: { initialized: false, nodes: [] } },
      etcd: { status: 'ok', value: { members: [], alarms: [] } },
    });
  });

  it('reads a booted cluster: its instances, swarm nodes and etcd members', async () => {
    const world = aWorld();
    const m = await launch(world, 'manager', 'c-g1-m0');
    const w = await launch(world, 'worker', 'c-g1-w0');
    world.advance(5_000);
    const s = await observe(world);
    expect(s.instances.status === 'ok' && s.instances.value.map((i) => i.id)).toEqual([m, w]);
    expect(s.swarm.status === 'ok' && s.swarm.value.nodes.map((n) => [n.instanceId, n.role])).toEqual([
      [m, 'manager'],
      [w, 'worker'],
    ]);
    expect(s.etcd.status === 'ok' && s.etcd.value.members.map((x) => x.name)).toEqual([m]);
  });

  it("carries the controller's own instance id into the snapshot (the planner replaces that node last)", async () => {
    const world = aWorld();
    expect((await observe(world, { selfInstanceId: 'i-0self' })).selfInstanceId).toBe('i-0self');
    expect(await observe(world)).not.toHaveProperty('selfInstanceId');
  });

  it('turns a failed instance list into unavailable sources, never an exception', async () => {
    const world = aWorld();
    await launch(world, 'manager', 'c-g1-m0');
    world.advance(5_000);
    world.faults = { ...world.faults, apiError: 1 };
    const s = await observe(world);
    expect(s.instances).toEqual({ status: 'unavailable', error: 'listing instances: describing instances: connection reset (simulated)' });
    expect(s.swarm).toMatchObject({ status: 'unavailable', error: expect.stringContaining('the manager instances are unknown') });
    expect(s.etcd.status).toBe('unavailable');
  });

  it('times out a source that hangs: the only etcd member froze, the swarm answers through the other managers', async () => {
    const world = aWorld();
    const first = await launch(world, 'manager', 'c-g1-m0');
    const others = [await launch(world, 'manager', 'c-g1-m1'), await launch(world, 'manager', 'c-g1-m2')];
    world.advance(5_000);
    // The other two manager instances joined as workers; promote them so that the swarm
    // keeps its quorum without the first one (their etcd members are not added).
    for (const id of others) await world.swarm.setRole(swarmNodeOf(world, id).id, swarmNodeOf(world, id).version, 'manager');
    world.freeze(first);
    world.advance(1_000);
    const peers = new PeerClients(simPeerFactories(world, { swarmTimeoutMs: 10_000, etcdCallTimeoutMs: 10_000 }));
    const started = Date.now();
    const s = await observeCluster({ cluster: 'c', provider: world.provider, peers, timeoutMs: 50, hints: { swarmManagerId: others[0]! } });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(s.etcd).toEqual({
      status: 'unavailable',
      error: 'reading etcd membership: reading etcd membership did not answer within 50 ms',
    });
    expect(s.swarm).toMatchObject({ status: 'ok', value: { initialized: true } });
  });

  it('skips managers that do not answer or are not swarm managers yet, and remembers the one that did', async () => {
    const world = aWorld();
    // Listed in launch order; the swarm is asked in that order (running before pending).
    const booting = await launch(world, 'manager', 'c-g1-m0', 100_000);
    const dead = await launch(world, 'manager', 'c-g1-m1', 2_000);
    const notManager = await launch(world, 'manager', 'c-g1-m2', 2_000);
    const leader = await launch(world, 'manager', 'c-g1-m3', 1_000); // boots first: initialises the swarm
    const worker = await launch(world, 'worker', 'c-g1-w0', 1_000);
    world.advance(5_000);
    world.kill(dead);
    const drained = swarmNodeOf(world, worker);
    drained.tasks = 2;
    await world.swarm.setAvailability(drained.id, drained.version, 'drain');

    const hints = {};
    const s = await observe(world, { hints });
    expect(s.instances.status === 'ok' && s.instances.value.find((i) => i.id === booting)?.state).toBe('pending');
    expect(swarmNodeOf(world, notManager).role).toBe('worker');
    expect(s.swarm).toMatchObject({
      status: 'ok',
      value: { initialized: true, nodes: expect.arrayContaining([expect.objectContaining({ availability: 'drain', runningTasks: 2 })]) },
    });
    expect(hints).toEqual({ swarmManagerId: leader });
  });

  it('says the swarm is not initialised when every manager engine answers inactive', async () => {
    const world = aWorld();
    // The init claim is taken and the swarm not initialised yet: booted engines are in no swarm.
    world.initClaimed = true;
    await launch(world, 'manager', 'c-g1-m0');
    world.advance(5_000);
    const s = await observe(world);
    expect(s.instances.status === 'ok' && s.instances.value.map((i) => i.state)).toEqual(['running']);
    expect(s.swarm).toEqual({ status: 'ok', value: { initialized: false, nodes: [] } });
  });

  it('says unavailable when no manager engine answers', async () => {
    const world = aWorld();
    const m = await launch(world, 'manager', 'c-g1-m0');
    world.advance(5_000);
    world.kill(m);
    const s = await observe(world);
    expect(s.swarm.status).toBe('unavailable');
    expect(s.swarm.status === 'unavailable' && s.swarm.error).toContain(`${m}: dockerd of ${m}: no answer within ${NO_ANSWER_MS} ms`);
  });
});
