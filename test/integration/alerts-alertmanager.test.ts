// A real Alertmanager forwards a firing alert, then its resolution, to our webhook over
// real HTTP on loopback; the mark appears in, then disappears from, a real etcd.
import type { Etcd3 } from 'etcd3';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdMarkStore } from '../../src/heal/mark-store.ts';
import { staticNodeDirectory } from '../../src/heal/node-directory.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { buildServer, listenServer } from '../../src/http/server.ts';
import { silentLogger } from '../../src/log.ts';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import type { Instance } from '../../src/observe/snapshot.ts';
import { clusterKeys } from '../../src/store/keys.ts';
import { ALERTING_TEST_BLOCK, startAlertmanager, type AlertmanagerProcess } from '../support/alertmanager.ts';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';
import { until as untilShared } from '../support/until.ts';

const TOKEN = 'am-integration-token-6f1c2b9a';
const PREFIX = '/sk-alerts-am';

const worker = (id: string, address: string): Instance => ({ id, role: 'worker', state: 'running', launchedAt: Date.now() - 60_000, address, configHash: 'h', tags: {} });

let etcd: EtcdTestCluster | undefined;
let client: Etcd3 | undefined;
let app: FastifyInstance | undefined;
let am: AlertmanagerProcess | undefined;
let address: string | undefined;
let store: EtcdMarkStore;

beforeAll(async () => {
  etcd = await startEtcdCluster({ size: 1 });
  client = etcd.client();
  store = new EtcdMarkStore(client, { prefix: PREFIX });
  app = await buildServer({
    logger: silentLogger(),
    metrics: createMetrics({ processMetrics: false }),
    readiness: { etcd: async () => true, isLeader: () => false },
    alerts: {
      webhookToken: TOKEN,
      marks: store,
      directory: staticNodeDirectory({ prod: { instances: [worker('w1', '127.47.200.1'), worker('w2', '127.47.200.2')], swarmNodes: [] } }),
    },
  });
  address = reserveLoopback({ block: ALERTING_TEST_BLOCK });
  const base = await listenServer(app, { host: address });
  am = await startAlertmanager({ webhookUrl: `${base}/v1/alerts`, webhookToken: TOKEN });
});

afterAll(async () => {
  await am?.stop();
  await app?.close();
  client?.close();
  await etcd?.stop();
  if (address) releaseLoopback(address);
});

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  return untilShared(what, fn, { timeoutMs: ms, context: () => `alertmanager log: ${am?.output().slice(-3000)}` });
}

describe('Alertmanager -> webhook -> etcd', () => {
  it('marks the node on a firing alert and clears the mark when it resolves', async () => {
    const startsAt = new Date(Date.now() - 30_000).toISOString();
    const labels = { alertname: 'SwarmNodeDown', swarmkeeper_cluster: 'prod', instance_id: 'w2', severity: 'critical' };
    await am?.postAlerts([{ labels, annotations: { summary: 'Swarm node w2 is down' }, startsAt }]);

    const mark = await until('the alert mark', async () => (await store.listMarks('prod', Date.now())).find((m) => m.instanceId === 'w2'));
    expect(mark).toMatchObject({ instanceId: 'w2', source: 'alert', reason: 'Alert SwarmNodeDown firing: Swarm node w2 is down' });
    expect(mark.since).toBe(Date.parse(startsAt));
    expect(mark.expiresAt).toBeGreaterThan(Date.now());
    // Stored where the key layout says, on a lease so etcd removes it if nobody does.
    const raw = await client?.get(`${clusterKeys(PREFIX, 'prod').marks}w2/alert`).exec();
    expect(raw?.kvs[0]?.lease).not.toBe('0');
    expect((await store.listMarks('prod', Date.now())).map((m) => m.instanceId)).toEqual(['w2']);

    await am?.postAlerts([{ labels, startsAt, endsAt: new Date(Date.now() - 1_000).toISOString() }]);
    await until('the mark to clear', async () => ((await store.listMarks('prod', Date.now())).length === 0 ? true : undefined));
    expect(am?.output()).toContain('Notify success');
  });
});
