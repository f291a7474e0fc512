// End to end with real processes: a real Alertmanager receives an alert for a
// worker of a local-provider cluster (dockerd + etcd + node agents) and forwards it to
// our webhook; the mark lands in the management etcd; the controller replaces the
// worker; the alert resolves and the mark clears.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeDirectory } from '../../src/heal/node-directory.ts';
import type { Instance } from '../../src/model/snapshot.ts';
import { startAlertWebhook, startAlertmanager, type AlertWebhook, type AlertmanagerProcess } from '../support/alertmanager.ts';
import { startControllerHarness, type ControllerHarness } from '../support/controller-harness.ts';

const NAME = 'heal-alert';
const HEALING = { unhealthyAfterSeconds: 5, nodeStartupTimeoutSeconds: 180, minHealthySeconds: 0, maxUnhealthy: 1 };

let h: ControllerHarness;
let hook: AlertWebhook | undefined;
let am: AlertmanagerProcess | undefined;

beforeAll(async () => {
  h = await startControllerHarness({ block: 221 });
  await h.startController('c1');
  hook = await startAlertWebhook({
    client: h.client,
    prefix: h.prefix,
    directory: createNodeDirectory({
      clusterExists: async (c) => (await h.store.get(c)) !== undefined,
      listInstances: (c) => h.provider.list(c),
    }),
  });
  am = await startAlertmanager({ webhookUrl: hook.url, webhookToken: hook.token });
}, 180_000);

afterAll(async () => {
  await am?.stop().catch(() => undefined);
  await hook?.stop().catch(() => undefined);
  await h?.stop();
}, 180_000);

const workers = async (): Promise<Instance[]> => (await h.instances(NAME)).filter((i) => i.role === 'worker');

describe('alert -> Alertmanager -> webhook -> mark -> replacement', () => {
  it('replaces the worker a firing alert names, then clears the mark when the alert resolves', async () => {
    await h.apply(NAME, 1, 2, { healing: HEALING });
    await h.waitConverged(NAME, 1, 2, 240_000);
    const before = await workers();
    expect(before).toHaveLength(2);
    const victim = before[0] as Instance;
    const survivor = before[1] as Instance;
    const labels = { alertname: 'SwarmNodeDown', swarmkeeper_cluster: NAME, instance_id: victim.id, severity: 'critical' };
    const startsAt = new Date(Date.now() - 60_000).toISOString();
    await am?.postAlerts([{ labels, annotations: { summary: `Node ${victim.id} is down` }, startsAt }]);

    const mark = await h.waitFor(
      'the alert mark in etcd',
      async () => (await hook?.marks.listMarks(NAME, Date.now()))?.find((m) => m.instanceId === victim.id),
      60_000,
    );
    expect(mark).toMatchObject({ source: 'alert', reason: `Alert SwarmNodeDown firing: Node ${victim.id} is down` });

    await h.waitFor('the alerted worker to be gone', async () => !(await h.instances(NAME)).some((i) => i.id === victim.id), 180_000);
    const status = await h.waitConverged(NAME, 1, 2, 240_000);
    const after = await workers();
    expect(after.map((i) => i.id)).toContain(survivor.id);
    expect(after.map((i) => i.id)).not.toContain(victim.id);
    expect(status.nodes?.every((n) => n.healthy)).toBe(true);
    // The controller says why: the victim's removal was journalled as a remediation.
    const journal = await h.journalOf(NAME);
    const terminate = journal.find(
      (e) => e.step.kind === 'instance.terminate' && 'instanceId' in e.step && e.step.instanceId === victim.id,
    );
    expect(terminate, JSON.stringify(journal.map((e) => e.step))).toBeDefined();
    // Only the named worker was replaced.
    expect(journal.filter((e) => e.step.kind === 'instance.terminate')).toHaveLength(1);

    await am?.postAlerts([{ labels, startsAt, endsAt: new Date(Date.now() - 1_000).toISOString() }]);
    await h.waitFor(
      'the mark to clear',
      async () => ((await hook?.marks.listMarks(NAME, Date.now()))?.some((m) => m.instanceId === victim.id) ? undefined : true),
      60_000,
    );
    expect(am?.output()).toContain('Notify success');
  }, 720_000);
});
