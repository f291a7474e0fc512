// A task that cannot move is never silently lost. A 1 manager + 1 worker
// cluster (real processes) runs `pinned`, a service constrained to workers. Scaling
// workers to 0 drains the worker; its task has nowhere to go, so at drainTimeoutSeconds
// the removal holds: the status shows DrainTimedOut with the scheduler's reason, the
// worker stays drained, joined and running. Once the constraint is lifted the task runs
// on the manager and the removal finishes by itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControllerHarness, type ControllerHarness } from '../support/controller-harness.ts';
import { aManager, deployServices } from '../support/cluster-workloads.ts';
import { startTestRegistry, type TestRegistry } from '../support/registry.ts';
import { listServiceTasks, waitServicesRunning } from '../../src/workload/services.ts';

const NAME = 'pinned';
const ROLLOUT = { maxSurge: 1, maxUnavailable: 1, drainTimeoutSeconds: 5 };

let h: ControllerHarness;
let registry: TestRegistry;

beforeAll(async () => {
  [h, registry] = await Promise.all([startControllerHarness({ block: 226 }), startTestRegistry()]);
  const image = await registry.pushBusybox();
  await h.startController('c1');
  await h.apply(NAME, 1, 1, { rollout: ROLLOUT });
  await h.waitConverged(NAME, 1, 1, 180_000);
  await deployServices(h.provider, NAME, [{ name: 'pinned', image, replicas: 1, constraints: ['node.role==worker'] }]);
}, 300_000);

afterAll(async () => {
  await h?.stop();
  await registry?.stop();
}, 180_000);

describe('a drain whose tasks cannot move', () => {
  it('holds the removal at the drain timeout, visibly, with the node drained and running', async () => {
    const [worker] = (await h.instances(NAME)).filter((i) => i.role === 'worker');
    await h.apply(NAME, 1, 0, { rollout: ROLLOUT });
    const hold = await h.waitFor(
      'the DrainTimedOut hold in status',
      async () => (await h.status(NAME))?.holds?.find((x) => x.reason === 'DrainTimedOut'),
      120_000,
    );
    expect(hold.message).toContain(`removal of ${worker!.id} waits`);
    expect(hold.message).toMatch(/not running elsewhere yet \(no suitable node/);
    expect((await h.status(NAME))?.phase).toBe('Degraded');

    // Held, not lost: the instance runs, the node is still in the swarm and drained,
    // the task waits in the scheduler.
    const still = (await h.instances(NAME)).find((i) => i.id === worker!.id);
    expect(still?.state).toBe('running');
    const manager = await aManager(h.provider, NAME);
    const node = (await manager.listNodes()).find((n) => n.Description?.Engine?.Labels?.['swarmkeeper.instance'] === worker!.id);
    expect(node?.Spec?.Availability).toBe('drain');
    const pinned = (await listServiceTasks(manager)).find((s) => s.service === 'pinned');
    expect(pinned).toMatchObject({ running: 0 });
    expect(pinned?.waiting[0]?.state).toBe('pending');
    const journal = await h.journalOf(NAME);
    expect(journal.some((e) => e.stepKind === 'swarm.removeNode' || (e.stepKind === 'instance.terminate' && e.target === worker!.id))).toBe(
      false,
    );
  });

  it('finishes the removal by itself once the task can run elsewhere', async () => {
    const manager = await aManager(h.provider, NAME);
    const service = manager.getService('pinned');
    const current = (await service.inspect()) as {
      Version: { Index: number };
      Spec: { TaskTemplate: Record<string, unknown> } & Record<string, unknown>;
    };
    const { Placement: _placement, ...template } = current.Spec.TaskTemplate;
    await service.update({ ...current.Spec, TaskTemplate: template, version: current.Version.Index });
    await waitServicesRunning(manager, ['pinned'], 60_000);
    await h.waitConverged(NAME, 1, 0, 120_000);
    expect((await h.status(NAME))?.holds?.some((x) => x.reason === 'DrainTimedOut') ?? false).toBe(false);
  });
});
