// The controller on real processes (local provider: dockerd + etcd + node
// agents) takes a cluster from nothing to 3 managers + 2 workers, scales workers
// 2 -> 4 -> 1 and managers 3 -> 5 -> 3, while a watcher samples etcd and the swarm
// every 100 ms; quorum is never lost (no gap longer than a leader election).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import { startControllerHarness, type ControllerHarness } from '../support/controller-harness.ts';
import { watchQuorum, type QuorumWatcher } from '../support/quorum-watcher.ts';
import { DockerSwarm } from '../../src/swarm/docker-swarm.ts';

const NAME = 'scale';
/** A leader election takes well under this; a lost quorum would not heal at all. */
const MAX_GAP_MS = 3000;

let h: ControllerHarness;
let watcher: QuorumWatcher | undefined;

beforeAll(async () => {
  h = await startControllerHarness({ block: 211 });
  await h.startController('c1');
}, 120_000);

afterAll(async () => {
  await watcher?.stop().catch(() => undefined);
  await h?.stop();
}, 180_000);

/** What the peers themselves say, independent of the controller's status. */
async function realView(): Promise<{ voters: number; learners: number; swarmManagers: number; swarmWorkers: number }> {
  const managers = (await h.instances(NAME)).filter((i) => i.role === 'manager' && i.state === 'running');
  const etcd = new Etcd3({ hosts: managers.map((m) => `http://${m.address}:2379`) });
  const swarm = new DockerSwarm(h.provider.dockerEndpoint(managers[0]!));
  try {
    const members = (await etcd.cluster.memberList({})).members;
    const nodes = (await swarm.listNodes()).filter((n) => n.state === 'ready');
    return {
      voters: members.filter((m) => !m.isLearner).length,
      learners: members.filter((m) => m.isLearner).length,
      swarmManagers: nodes.filter((n) => n.role === 'manager').length,
      swarmWorkers: nodes.filter((n) => n.role === 'worker').length,
    };
  } finally {
    etcd.close();
    await swarm.close();
  }
}

async function expectConverged(managers: number, workers: number, timeoutMs: number): Promise<void> {
  const status = await h.waitConverged(NAME, managers, workers, timeoutMs);
  expect(status.nodes?.every((n) => n.healthy)).toBe(true);
  const real = await h.waitFor(
    `the peers to agree on ${managers}+${workers}`,
    async () => {
      const v = await realView();
      return v.voters === managers && v.learners === 0 && v.swarmManagers === managers && v.swarmWorkers === workers ? v : undefined;
    },
    30_000,
  );
  expect(real).toEqual({ voters: managers, learners: 0, swarmManagers: managers, swarmWorkers: workers });
  expect(await h.instances(NAME)).toHaveLength(managers + workers);
}

describe('controller on real processes: scaling with quorum kept', () => {
  it('goes from nothing to 3 managers + 2 workers', async () => {
    await h.apply(NAME, 3, 2);
    await expectConverged(3, 2, 240_000);
    // Once etcd and the swarm exist, the watcher samples them through every change below.
    watcher = watchQuorum(h.provider, NAME);
  }, 300_000);

  it('scales workers 2 -> 4 -> 1', async () => {
    await h.apply(NAME, 3, 4);
    await expectConverged(3, 4, 180_000);
    await h.apply(NAME, 3, 1);
    await expectConverged(3, 1, 180_000);
  }, 400_000);

  it('scales managers 3 -> 5 -> 3', async () => {
    await h.apply(NAME, 5, 1);
    await expectConverged(5, 1, 240_000);
    await h.apply(NAME, 3, 1);
    await expectConverged(3, 1, 240_000);
  }, 500_000);

  it('never lost etcd or swarm quorum while it changed', async () => {
    const report = await watcher!.stop();
    watcher = undefined;
    console.info(`quorum watcher: ${JSON.stringify(report)}`);
    expect(report.samples).toBeGreaterThan(100);
    expect(report.longestEtcdGapMs, `etcd gaps: ${JSON.stringify(report.etcdGaps)}`).toBeLessThan(MAX_GAP_MS);
    expect(report.longestSwarmGapMs).toBeLessThan(MAX_GAP_MS);
  });
});
