// A real Alertmanager forwards a firing alert, then its resolution, to our webhook over
// real HTTP on loopback; the mark appears in, then disappears from, a real etcd.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterKeys } from '../../src/store/keys.ts';
import { aWorkerInstance, startAlertIntake, type AlertIntake } from '../support/alert-intake.ts';
import { startAlertmanager, type AlertmanagerProcess } from '../support/alertmanager.ts';
import { until as untilShared } from '../support/until.ts';

const TOKEN = 'am-integration-token-6f1c2b9a';
const PREFIX = '/sk-alerts-am';

let intake: AlertIntake | undefined;
let am: AlertmanagerProcess | undefined;

beforeAll(async () => {
  intake = await startAlertIntake({
    prefix: PREFIX,
    token: TOKEN,
    clusters: { prod: { instances: [aWorkerInstance('w1', '127.47.200.1'), aWorkerInstance('w2', '127.47.200.2')], swarmNodes: [] } },
  });
  am = await startAlertmanager({ webhookUrl: `${intake.baseUrl}/v1/alerts`, webhookToken: TOKEN });
});

afterAll(async () => {
  await am?.stop();
  await intake?.stop();
});

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  return untilShared(what, fn, { timeoutMs: ms, context: () => `alertmanager log: ${am?.output().slice(-3000)}` });
}

describe('Alertmanager -> webhook -> etcd', () => {
  it('marks the node on a firing alert and clears the mark when it resolves', async () => {
    const { store, client } = intake!;
    const startsAt = new Date(Date.now() - 30_000).toISOString();
    const labels = { alertname: 'SwarmNodeDown', swarmkeeper_cluster: 'prod', instance_id: 'w2', severity: 'critical' };
    const posted = Date.now();
    await am?.postAlerts([{ labels, annotations: { summary: 'Swarm node w2 is down' }, startsAt }]);

    const mark = await until('the alert mark', async () => (await store.listMarks('prod', Date.now())).find((m) => m.instanceId === 'w2'));
    expect(mark).toMatchObject({ instanceId: 'w2', source: 'alert', reason: 'Alert SwarmNodeDown firing: Swarm node w2 is down' });
    // The hold-down runs on the controller's clock from its first sight of the alert, not
    // from the sender's startsAt (30 s in the past here).
    expect(mark.since).toBeGreaterThanOrEqual(posted);
    expect(mark.since).toBeLessThanOrEqual(Date.now());
    expect(mark.expiresAt).toBeGreaterThan(Date.now());
    // Stored where the key layout says, on a lease so etcd removes it if nobody does.
    const raw = await client.get(`${clusterKeys(PREFIX, 'prod').marks}w2/alert`).exec();
    expect(raw?.kvs[0]?.lease).not.toBe('0');
    expect((await store.listMarks('prod', Date.now())).map((m) => m.instanceId)).toEqual(['w2']);

    await am?.postAlerts([{ labels, startsAt, endsAt: new Date(Date.now() - 1_000).toISOString() }]);
    await until('the mark to clear', async () => ((await store.listMarks('prod', Date.now())).length === 0 ? true : undefined));
    expect(am?.output()).toContain('Notify success');
  });
});
