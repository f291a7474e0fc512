// Drains proven with running tasks. The controller on real processes (local
// provider) runs 3 managers + 3 workers with real services pulled from a loopback
// registry: web (3 replicas), agent (global) and batch (2 replicas on workers only), at
// most one replica of a service per node.
// Scaling workers down, a rolling replacement of every node (a units change for both
// roles: managers add-first) and removing managers each drain first. An availability
// sampler counts each replicated service's running replicas every 100 ms and a quorum
// watcher checks etcd and the swarm every 100 ms; the lowest counts must stay at or
// above replicas - maxUnavailable (3 - 1 and 2 - 1), and no quorum gap may outlast a
// leader election.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AvailabilityReport, AvailabilitySampler } from '../../src/workload/availability.ts';
import { startControllerHarness, type ControllerHarness } from '../support/controller-harness.ts';
import { deployServices, describeAvailability, sampleClusterAvailability } from '../support/cluster-workloads.ts';
import { watchQuorum, type QuorumReport, type QuorumWatcher } from '../support/quorum-watcher.ts';
import { startTestRegistry, type TestRegistry } from '../support/registry.ts';

const NAME = 'drains';
const MAX_UNAVAILABLE = 1;
/** Replicas; one per node at most (see WorkloadService.maxPerNode), so that one drain costs one. */
const WANT = { web: 3, batch: 2 } as const;
const ROLLOUT = { maxSurge: 1, maxUnavailable: MAX_UNAVAILABLE, drainTimeoutSeconds: 60 };
/** A leader election (or a health probe slowed by a loaded machine) takes well under this; a lost quorum would not heal at all. */
const MAX_GAP_MS = 5000;

let h: ControllerHarness;
let registry: TestRegistry;
let sampler: AvailabilitySampler | undefined;
let watcher: QuorumWatcher | undefined;
const figures: string[] = [];

beforeAll(async () => {
  [h, registry] = await Promise.all([startControllerHarness({ block: 225 }), startTestRegistry()]);
  const image = await registry.pushBusybox();
  await h.startController('c1');
  await h.apply(NAME, 3, 3, { rollout: ROLLOUT });
  await h.waitConverged(NAME, 3, 3, 180_000);
  await deployServices(h.provider, NAME, [
    { name: 'web', image, replicas: WANT.web, maxPerNode: 1 },
    { name: 'agent', image },
    { name: 'batch', image, replicas: WANT.batch, constraints: ['node.role==worker'], maxPerNode: 1 },
  ]);
}, 300_000);

afterAll(async () => {
  await sampler?.stop().catch(() => undefined);
  await watcher?.stop().catch(() => undefined);
  await h?.stop();
  await registry?.stop();
  // The figures the note quotes.
  if (figures.length > 0) process.stderr.write(`availability:\n${figures.join('\n')}\n`);
}, 180_000);

function startSampling(): void {
  sampler = sampleClusterAvailability(h.provider, NAME);
  watcher = watchQuorum(h.provider, NAME);
}

async function stopSampling(scenario: string): Promise<{ availability: AvailabilityReport; quorum: QuorumReport }> {
  const availability = await (sampler as AvailabilitySampler).stop();
  const quorum = await (watcher as QuorumWatcher).stop();
  sampler = undefined;
  watcher = undefined;
  figures.push(
    `${scenario}: ${describeAvailability(availability)}; longest quorum gap etcd ${quorum.longestEtcdGapMs} ms, swarm ${quorum.longestSwarmGapMs} ms`,
  );
  return { availability, quorum };
}

function expectAvailable(r: AvailabilityReport, q: QuorumReport): void {
  for (const [service, replicas] of Object.entries(WANT)) {
    const s = r.services.find((x) => x.service === service);
    expect(s, service).toBeDefined();
    expect(s?.lowest, `${service}: lowest running replicas`).toBeGreaterThanOrEqual(replicas - MAX_UNAVAILABLE);
    expect(s?.latest, `${service}: running at the end`).toBe(replicas);
  }
  expect(r.samples).toBeGreaterThan(20);
  expect(q.longestEtcdGapMs, `etcd gaps: ${JSON.stringify(q.etcdGaps)}`).toBeLessThan(MAX_GAP_MS);
  expect(q.longestSwarmGapMs).toBeLessThan(MAX_GAP_MS);
}

/** Every removed node was drained, and its tasks seen elsewhere, before it left the swarm. */
async function expectDrainedBeforeRemoval(removed: readonly string[]): Promise<void> {
  const journal = await h.journalOf(NAME);
  for (const id of removed) {
    const mine = journal.filter((e) => e.target === id || ('instanceId' in e.step && e.step.instanceId === id));
    const at = (kind: string): number => mine.findIndex((e) => e.stepKind === kind && e.state === 'done');
    expect(at('swarm.drain'), `${id} drained`).toBeGreaterThanOrEqual(0);
    expect(at('swarm.removeNode'), `${id} removed from the swarm`).toBeGreaterThanOrEqual(0);
    // The wait ran (or its precondition found the tasks moved already) before the removal.
    expect(at('swarm.waitDrained'), `${id} waited for its tasks to move`).toBeGreaterThanOrEqual(0);
    expect(at('swarm.waitDrained')).toBeLessThan(at('swarm.removeNode'));
    expect(at('swarm.drain')).toBeLessThan(at('swarm.removeNode'));
  }
}

async function instanceIds(role?: 'manager' | 'worker'): Promise<string[]> {
  return (await h.instances(NAME)).filter((i) => !role || i.role === role).map((i) => i.id);
}

describe('drains with real services running', () => {
  it('scaling workers 3 -> 2 drains the worker first; no service drops below replicas - maxUnavailable', async () => {
    const before = await instanceIds('worker');
    startSampling();
    await h.apply(NAME, 3, 2, { rollout: ROLLOUT });
    await h.waitConverged(NAME, 3, 2, 180_000);
    const { availability, quorum } = await stopSampling('workers 3 -> 2');
    expectAvailable(availability, quorum);
    const after = await instanceIds('worker');
    await expectDrainedBeforeRemoval(before.filter((id) => !after.includes(id)));
  });

  it('a units change replaces every node (managers add-first) within maxSurge/maxUnavailable, draining each', async () => {
    const before = await instanceIds();
    startSampling();
    const units = (role: string) => [{ name: `rollout-${role}.service`, content: '[Service]\nExecStart=/bin/true\n' }];
    await h.apply(NAME, 3, 2, { rollout: ROLLOUT, managers: { count: 3, units: units('m') }, workers: { count: 2, units: units('w') } });
    let peak = 0;
    await h.waitFor(
      'every node replaced and the cluster converged',
      async () => {
        const now = await h.instances(NAME);
        peak = Math.max(peak, now.filter((i) => i.role === 'manager').length);
        if (now.some((i) => before.includes(i.id))) return undefined;
        return h.waitConverged(NAME, 3, 2, 1_000).catch(() => undefined);
      },
      420_000,
    );
    const { availability, quorum } = await stopSampling('rolling replacement of 3 managers + 2 workers');
    expectAvailable(availability, quorum);
    // Add first: a fourth manager joins before an old one leaves, never a fifth.
    expect(peak).toBeLessThanOrEqual(3 + ROLLOUT.maxSurge);
    await expectDrainedBeforeRemoval(before);
  });

  it('removing managers 3 -> 1 drains each first', async () => {
    const before = await instanceIds('manager');
    startSampling();
    await h.apply(NAME, 1, 2, { rollout: ROLLOUT });
    await h.waitConverged(NAME, 1, 2, 420_000);
    const { availability, quorum } = await stopSampling('managers 3 -> 1');
    expectAvailable(availability, quorum);
    const after = await instanceIds('manager');
    await expectDrainedBeforeRemoval(before.filter((id) => !after.includes(id)));
  });
});
