// Healing by the detector alone, with real processes and no alert at all:
// 1. kill a worker's dockerd: the local provider reports the machine stopped, and the
//    controller replaces it;
// 2. kill a worker's node agent (dockerd stays up): the instance fails its status
//    checks, a detector marks it once that has lasted unhealthyAfterSeconds, and the
//    controller replaces it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdMarkStore } from '../../src/store/mark-store.ts';
import type { HealthMark, Instance } from '../../src/model/snapshot.ts';
import { agentPid } from '../../src/providers/local/node-processes.ts';
import { nodeDirOf } from '../../src/providers/local/instance-records.ts';
import { dockerdPid } from '../../src/swarm/dockerd-process.ts';
import { startControllerHarness, type ControllerHarness } from '../support/controller-harness.ts';

const NAME = 'heal-detect';
const UNHEALTHY_AFTER_S = 5;
const HEALING = { unhealthyAfterSeconds: UNHEALTHY_AFTER_S, nodeStartupTimeoutSeconds: 180, minHealthySeconds: 0, maxUnhealthy: 1 };

let h: ControllerHarness;
let marks: EtcdMarkStore;
/** Every mark seen by a 100 ms sampler, with the time it was first seen. */
const seen = new Map<string, { mark: HealthMark; at: number }>();
let sampling = true;
let sampler: Promise<void> | undefined;

beforeAll(async () => {
  h = await startControllerHarness({ block: 222 });
  marks = new EtcdMarkStore(h.client, { prefix: h.prefix });
  await h.startController('c1');
  sampler = (async () => {
    while (sampling) {
      for (const m of await marks.listMarks(NAME, Date.now()).catch(() => [] as HealthMark[])) {
        const key = `${m.instanceId}/${m.source}`;
        if (!seen.has(key)) seen.set(key, { mark: m, at: Date.now() });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
}, 180_000);

afterAll(async () => {
  sampling = false;
  await sampler;
  await h?.stop();
}, 180_000);

const workers = async (): Promise<Instance[]> => (await h.instances(NAME)).filter((i) => i.role === 'worker' && i.state !== 'terminated');

function kill(pid: number | undefined, what: string): void {
  if (pid === undefined) throw new Error(`no live ${what} pid`);
  process.kill(pid, 'SIGKILL');
}

/**
 * The cluster each test starts from: 1 manager + 2 workers, converged. The first test
 * to run creates it; after another test's replacement it is converged already (the
 * same spec again is no new generation), so this costs one status read.
 */
async function aConvergedCluster(): Promise<void> {
  await h.apply(NAME, 1, 2, { healing: HEALING });
  await h.waitConverged(NAME, 1, 2, 240_000);
}

describe('health detection without alerts', () => {
  it('replaces a worker whose dockerd was killed', async () => {
    await aConvergedCluster();
    const [victim] = await workers();
    kill(dockerdPid(nodeDirOf(h.baseDir, (victim as Instance).id)), 'dockerd');
    await h.waitFor(
      'the worker with the dead dockerd to be gone',
      async () => !(await h.instances(NAME)).some((i) => i.id === victim?.id),
      180_000,
    );
    await h.waitConverged(NAME, 1, 2, 240_000);
    expect((await workers()).map((i) => i.id)).not.toContain(victim?.id);
    expect([...seen.values()].filter((s) => s.mark.source === 'alert')).toEqual([]);
  }, 720_000);

  it('marks a worker whose node agent died after unhealthyAfterSeconds, and replaces it', async () => {
    await aConvergedCluster();
    const [victim] = await workers();
    const id = (victim as Instance).id;
    const killedAt = Date.now();
    kill(agentPid(nodeDirOf(h.baseDir, id), id), 'node agent');

    const mark = await h.waitFor('a detector mark on the worker', async () => seen.get(`${id}/detector:ec2`), 120_000);
    expect(mark.mark.reason).toMatch(/status checks/);
    // Not before the condition had lasted unhealthyAfterSeconds (observation takes time
    // too, so it can only be later).
    expect(mark.at - killedAt).toBeGreaterThanOrEqual(UNHEALTHY_AFTER_S * 1000);
    expect(mark.mark.since).toBeGreaterThanOrEqual(killedAt - 1_000);

    await h.waitFor('the marked worker to be gone', async () => !(await h.instances(NAME)).some((i) => i.id === id), 180_000);
    await h.waitConverged(NAME, 1, 2, 240_000);
    // The detector clears the mark of an instance that no longer exists.
    await h.waitFor(
      'the detector mark to clear',
      async () => ((await marks.listMarks(NAME, Date.now())).some((m) => m.instanceId === id) ? undefined : true),
      60_000,
    );
    expect([...seen.values()].filter((s) => s.mark.source === 'alert')).toEqual([]);
  }, 720_000);
});
