// The leader's /readyz swarm check against real dockerd: ready when a manager of every
// cluster answers as an active swarm manager (one answering manager is enough), not
// ready when a cluster's only managers are unreachable or not swarm managers; a
// follower's /readyz never asks the swarm. The instances are listed by the sim's provider
// and each one's docker endpoint is the real engine behind it (the readiness check only
// lists instances and opens their endpoints).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { swarmReadiness } from '../../src/controller/swarm-readiness.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { buildServer } from '../../src/http/server.ts';
import { silentLogger } from '../../src/log.ts';
import type { Instance } from '../../src/model/snapshot.ts';
import { SimWorld } from '../../src/providers/sim/index.ts';
import type { DockerEndpoint } from '../../src/swarm/docker-endpoint.ts';
import { resolveSpec, type ResolvedSpec } from '../../src/spec/defaults.ts';
import type { Role } from '../../src/spec/schema.ts';
import { DockerSwarm } from '../../src/swarm/docker-swarm.ts';
import { startSwarm, type TestDockerNode, type TestSwarm } from '../support/dockerd.ts';

let swarm: TestSwarm;
/** A dockerd that never joined a swarm: it answers, but as an inactive engine. */
let loner: TestDockerNode;

beforeAll(async () => {
  swarm = await startSwarm({ managers: 1, workers: 1, idPrefix: 'rdy' });
  loner = await swarm.addNode('manager');
}, 180_000);

afterAll(async () => {
  await swarm?.cleanup();
}, 120_000);

interface FixedInstance {
  readonly id: string;
  readonly role: Role;
  readonly socketPath: string;
  readonly state?: Instance['state'];
}

/**
 * The inventory is the sim's provider, holding the given instances per cluster; each
 * instance's simulated docker endpoint is opened as the real engine's socket.
 */
function inventoryOf(inventory: Readonly<Record<string, readonly FixedInstance[]>>): {
  world: SimWorld;
  swarmFor: (endpoint: DockerEndpoint) => DockerSwarm;
} {
  const world = new SimWorld();
  const sockets = new Map<string, string>();
  for (const [cluster, instances] of Object.entries(inventory)) {
    for (const i of instances) {
      const id = `${cluster}-${i.id}`;
      sockets.set(id, i.socketPath);
      const attached = world.attachInstance(
        { id, role: i.role, state: 'running', launchedAt: 0, address: '127.0.0.1', configHash: 'x', tags: {} },
        cluster,
      );
      if (i.state) attached.state = i.state;
    }
  }
  const swarmFor = (endpoint: DockerEndpoint): DockerSwarm => {
    const id = /\/sim\/([^/]+)\/docker\.sock$/.exec('socketPath' in endpoint ? endpoint.socketPath : '')?.[1] ?? '';
    return new DockerSwarm({ socketPath: sockets.get(id) ?? `/nonexistent/${id}` });
  };
  return { world, swarmFor };
}

const spec = (name: string): ResolvedSpec =>
  resolveSpec(name, 1, { managers: { count: 1 }, workers: { count: 1 }, provider: { local: {} } });

function check(inventory: Readonly<Record<string, readonly FixedInstance[]>>): () => Promise<boolean> {
  const { world, swarmFor } = inventoryOf(inventory);
  return swarmReadiness({ listClusters: async () => Object.keys(inventory).map(spec), providerFor: () => world.provider, swarmFor });
}

const manager = (): FixedInstance => ({ id: 'm0', role: 'manager', socketPath: swarm.managers[0]!.process.socketPath });
const worker = (): FixedInstance => ({ id: 'w0', role: 'worker', socketPath: swarm.workers[0]!.process.socketPath });
const gone: FixedInstance = { id: 'm-gone', role: 'manager', socketPath: '/tmp/sk-no-such-dockerd.sock' };

describe('swarm readiness of the leader (real dockerd)', () => {
  it('is ready when a manager of the cluster answers as an active swarm manager', async () => {
    expect(await check({ alpha: [manager(), worker()] })()).toBe(true);
  });

  it('is ready when one manager answers and another is unreachable', async () => {
    expect(await check({ alpha: [gone, manager()] })()).toBe(true);
  });

  it('is not ready when every manager of one cluster is unreachable, even if another cluster is fine', async () => {
    expect(await check({ alpha: [manager()], beta: [gone] })()).toBe(false);
  });

  it('is not ready when the only "manager" engine is not in a swarm, or only a worker answers', async () => {
    expect(await check({ alpha: [{ id: 'm1', role: 'manager', socketPath: loner.process.socketPath }] })()).toBe(false);
    expect(await check({ alpha: [{ ...worker(), role: 'manager' }] })()).toBe(false);
  });

  it('does not hold readiness back for a cluster with no running manager yet, nor count stopped ones', async () => {
    expect(await check({})()).toBe(true);
    expect(await check({ alpha: [worker()] })()).toBe(true);
    expect(await check({ alpha: [{ ...gone, state: 'pending' }], beta: [manager()] })()).toBe(true);
  });

  it('is not ready when the provider cannot list the instances', async () => {
    const { world, swarmFor } = inventoryOf({ alpha: [manager()] });
    const listing = swarmReadiness({ listClusters: async () => [spec('alpha')], providerFor: () => world.provider, swarmFor });
    expect(await listing()).toBe(true);
    world.faults = { ...world.faults, apiError: 1 };
    const failing = swarmReadiness({ listClusters: async () => [spec('alpha')], providerFor: () => world.provider, swarmFor });
    expect(await failing()).toBe(false);
  });

  it('drives /readyz on the leader only', async () => {
    let leader = true;
    const app = await buildServer({
      logger: silentLogger(),
      metrics: createMetrics(),
      readiness: { etcd: async () => true, isLeader: () => leader, swarm: check({ alpha: [gone] }) },
      readinessTimeoutMs: 10_000,
    });
    try {
      const asLeader = await app.inject({ method: 'GET', url: '/readyz' });
      expect(asLeader.statusCode).toBe(503);
      expect(asLeader.json()).toMatchObject({ leader: true, checks: { etcd: 'ok', swarm: 'failed' } });
      leader = false;
      const asFollower = await app.inject({ method: 'GET', url: '/readyz' });
      expect(asFollower.statusCode).toBe(200);
      expect(asFollower.json()).toMatchObject({ leader: false, checks: { etcd: 'ok', swarm: 'skipped' } });
    } finally {
      await app.close();
    }
  });
});
