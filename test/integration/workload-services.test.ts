// Workloads on a real swarm: a loopback registry (Debian docker-registry) serves the
// busybox image made on this machine; the nodes' dockerds (`--bridge none`, no daemon
// flag for the registry) pull it, and replicated, global and constrained services run
// real containers. The availability sampler sees a drained node's replica go and come
// back elsewhere.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleAvailability } from '../../src/workload/availability.ts';
import { createService, dockerOf, listServiceTasks, waitServicesRunning } from '../../src/workload/services.ts';
import { startSwarm, type TestSwarm } from '../support/dockerd.ts';
import { startTestRegistry, type TestRegistry } from '../support/registry.ts';
import { until } from '../support/until.ts';

let registry: TestRegistry;
let swarm: TestSwarm;
let image: string;

beforeAll(async () => {
  [registry, swarm] = await Promise.all([startTestRegistry(), startSwarm({ managers: 1, workers: 2, idPrefix: `wl${process.pid}` })]);
  image = await registry.pushBusybox();
}, 180_000);

afterAll(async () => {
  await swarm?.cleanup();
  await registry?.stop();
}, 120_000);

describe('services whose tasks really run, pulled from the loopback registry', () => {
  it('serves the busybox image made without any registry', async () => {
    expect(image).toBe(`${registry.host}/busybox:local`);
    const res = await fetch(`${registry.url}/v2/busybox/tags/list`);
    expect(await res.json()).toEqual({ name: 'busybox', tags: ['local'] });
  });

  it('runs replicated, global and constrained services on every kind of node', async () => {
    const manager = dockerOf({ socketPath: swarm.managers[0]!.process.socketPath }, 30_000);
    await createService(manager, { name: 'web', image, replicas: 3 });
    await createService(manager, { name: 'agent', image });
    await createService(manager, { name: 'batch', image, replicas: 2, constraints: ['node.role==worker'] });
    await waitServicesRunning(manager, ['web', 'agent', 'batch'], 120_000);

    const tasks = await manager.listTasks({ filters: { 'desired-state': ['running'] } });
    const nameOf = new Map((await manager.listServices()).map((s) => [s.ID, s.Spec?.Name]));
    const nodesOf = (name: string): string[] => tasks.filter((t) => nameOf.get(t.ServiceID) === name).map((t) => t.NodeID ?? '');
    const workerIds = new Set((await manager.listNodes()).filter((n) => n.Spec?.Role === 'worker').map((n) => n.ID));
    expect(new Set(nodesOf('agent')).size).toBe(3);
    expect(nodesOf('batch').every((id) => workerIds.has(id))).toBe(true);

    // The containers are real: each worker's own engine runs its tasks.
    for (const w of swarm.workers) {
      const containers = await dockerOf({ socketPath: w.process.socketPath }).listContainers();
      expect(containers.length).toBeGreaterThanOrEqual(2);
      expect(containers.every((c) => c.State === 'running' && c.Image.startsWith(image))).toBe(true);
    }
  });

  it('samples every 100 ms: a drained node replica is missed, then runs elsewhere', async () => {
    const manager = dockerOf({ socketPath: swarm.managers[0]!.process.socketPath }, 30_000);
    const sampler = sampleAvailability({ managers: async () => [{ socketPath: swarm.managers[0]!.process.socketPath }] });
    await new Promise((r) => setTimeout(r, 600));
    const before = sampler.phase();
    expect(before.services.find((s) => s.service === 'web')).toMatchObject({ replicas: 3, lowest: 3 });

    const worker = swarm.workers[0]!;
    const node = (await swarm.managers[0]!.api.listNodes()).find((n) => n.instanceId === worker.instanceId)!;
    await swarm.managers[0]!.api.setAvailability(node.id, node.version, 'drain');
    await until('no task left on the drained worker', async () => (await swarm.managers[0]!.api.runningTasks(node.id)) === 0, 60_000);
    await waitServicesRunning(manager, ['web', 'batch'], 60_000);
    // A sample begun before the replacement task ran can land after the wait above:
    // stop once the sampler itself has seen all three running again.
    await until(
      'the sampler sees web back at 3',
      async () => sampler.phase().services.find((s) => s.service === 'web')?.latest === 3,
      30_000,
    );
    const report = await sampler.stop();

    const web = report.services.find((s) => s.service === 'web')!;
    expect(report.samples).toBeGreaterThan(5);
    expect(web.latest).toBe(3);
    // Swarm spreads 3 replicas over 3 nodes: the drain stops one and starts it elsewhere,
    // so at most that one is missed.
    expect(web.lowest).toBeGreaterThanOrEqual(2);
    const after = await listServiceTasks(manager);
    expect(after.find((s) => s.service === 'web')?.running).toBe(3);
  });
});
