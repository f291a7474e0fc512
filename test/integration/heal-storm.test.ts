// An alert storm: alerts for more workers than maxUnhealthy allows arrive at once (a
// partition looks like a mass failure). The controller replaces nothing, says so in a
// Degraded condition with the reason, keeps holding through many cycles, and recovers
// when the alerts resolve. "Replaces nothing" includes launching nothing: new workers
// launched for held-back dead ones would be replacements too (and, in a partition,
// would double the cluster when it heals).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeDirectory } from '../../src/heal/node-directory.ts';
import { getCondition } from '../../src/spec/conditions.ts';
import type { Instance } from '../../src/model/snapshot.ts';
import { startAlertWebhook, type AlertWebhook } from '../support/alertmanager.ts';
import { startControllerHarness, type ControllerHarness } from '../support/controller-harness.ts';
import { holdsFor } from '../support/until.ts';

const NAME = 'heal-storm';
const HEALING = { unhealthyAfterSeconds: 2, nodeStartupTimeoutSeconds: 180, minHealthySeconds: 0, maxUnhealthy: 1 };

let h: ControllerHarness;
let hook: AlertWebhook | undefined;

beforeAll(async () => {
  h = await startControllerHarness({ block: 223 });
  await h.startController('c1');
  hook = await startAlertWebhook({
    client: h.client,
    prefix: h.prefix,
    directory: createNodeDirectory({
      clusterExists: async (c) => (await h.store.get(c)) !== undefined,
      listInstances: (c) => h.provider.list(c),
    }),
  });
}, 180_000);

afterAll(async () => {
  await hook?.stop().catch(() => undefined);
  await h?.stop();
}, 180_000);

describe('alert storm over maxUnhealthy', () => {
  it('replaces nothing, reports Degraded with the reason, and recovers when the alerts resolve', async () => {
    await h.apply(NAME, 1, 3, { healing: HEALING });
    await h.waitConverged(NAME, 1, 3, 300_000);
    const before = (await h.instances(NAME)).map((i) => i.id).sort();
    const workers = (await h.instances(NAME)).filter((i) => i.role === 'worker').slice(0, 2) as Instance[];
    const journalBefore = (await h.journalOf(NAME)).length;
    const startsAt = new Date(Date.now() - 60_000).toISOString();
    const alerts = workers.map((w) => ({
      status: 'firing' as const,
      labels: { alertname: 'SwarmNodeDown', swarmkeeper_cluster: NAME, instance_id: w.id },
      startsAt,
    }));
    // A flood: the same two alerts posted many times, as a flapping rule would.
    for (let i = 0; i < 20; i++) expect((await hook?.post(alerts))?.status).toBe(200);
    expect((await hook?.marks.listMarks(NAME, Date.now()))?.map((m) => m.instanceId).sort()).toEqual(workers.map((w) => w.id).sort());

    const degraded = await h.waitFor(
      'a Degraded condition naming maxUnhealthy',
      async () => {
        const c = getCondition((await h.status(NAME))?.conditions, 'Degraded');
        return c?.status === 'True' && c.reason === 'MaxUnhealthyExceeded' ? c : undefined;
      },
      60_000,
    );
    expect(degraded.message).toMatch(/2 unhealthy workers/);
    expect(degraded.message).toMatch(/maxUnhealthy/);
    for (const w of workers) expect(degraded.message).toContain(w.id);
    const holds = (await h.status(NAME))?.holds ?? [];
    expect(holds).toContainEqual(expect.objectContaining({ rule: 'R10-remediation-brakes', reason: 'MaxUnhealthyExceeded' }));

    // Hold through many cycles (the harness re-checks every 0.5 s, resyncs every 5 s).
    await holdsFor(
      async () => {
        const now = (await h.instances(NAME)).map((i) => i.id).sort();
        const newSteps = (await h.journalOf(NAME)).slice(journalBefore).map((e) => `${e.step.kind} ${e.step.rule}: ${e.step.reason}`);
        expect(now, `steps since the storm: ${JSON.stringify(newSteps)}`).toEqual(before);
      },
      { forMs: 20_000 },
    );
    const destructive = (await h.journalOf(NAME))
      .slice(journalBefore)
      .filter((e) => ['instance.terminate', 'swarm.drain', 'swarm.removeNode', 'instance.launch'].includes(e.step.kind));
    expect(destructive).toEqual([]);

    const resolved = alerts.map((a) => ({ ...a, status: 'resolved' as const }));
    expect((await hook?.post(resolved))?.status).toBe(200);
    expect(await hook?.marks.listMarks(NAME, Date.now())).toEqual([]);
    await h.waitFor(
      'Degraded to clear',
      async () => (getCondition((await h.status(NAME))?.conditions, 'Degraded')?.status === 'False' ? true : undefined),
      60_000,
    );
    await h.waitConverged(NAME, 1, 3, 60_000);
    expect((await h.instances(NAME)).map((i) => i.id).sort()).toEqual(before);
  }, 660_000);
});
