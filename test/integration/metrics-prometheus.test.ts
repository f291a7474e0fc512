// /metrics scraped by a real Prometheus over loopback; the metric names are read back
// through Prometheus' HTTP API, so the exposition format is proven parseable by the
// real consumer, not just by our own regexes.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, listenServer } from '../../src/http/server.ts';
import { createMetrics, METRIC_NAMES } from '../../src/http/metrics.ts';
import { silentLogger } from '../../src/log.ts';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';
import { ALERTING_TEST_BLOCK } from '../support/alertmanager.ts';
import { startPrometheus, type PrometheusProcess } from '../support/prometheus.ts';
import { until } from '../support/until.ts';

let app: FastifyInstance | undefined;
let prom: PrometheusProcess | undefined;
let address: string | undefined;

const snapshot: Snapshot = {
  observedAt: Date.now(),
  instances: {
    status: 'ok',
    value: [{ id: 'm1', role: 'manager', state: 'running', launchedAt: 0, address: '127.47.9.9', configHash: 'h', tags: {} }],
  },
  swarm: {
    status: 'ok',
    value: {
      initialized: true,
      nodes: [
        {
          id: 'n1',
          role: 'manager',
          availability: 'active',
          state: 'ready',
          reachability: 'reachable',
          leader: true,
          instanceId: 'm1',
          address: '127.47.9.9',
          version: 1,
        },
      ],
    },
  },
  etcd: {
    status: 'ok',
    value: { alarms: [], members: [{ id: '1', name: 'm1', peerURLs: [], clientURLs: [], isLearner: false, leader: true, healthy: true }] },
  },
  marks: [{ instanceId: 'm1', source: 'alert', reason: 'x', since: 0 }],
  operations: [],
  controls: [],
};

beforeAll(async () => {
  const metrics = createMetrics();
  metrics.setLeader(true);
  metrics.recordReconcile('prod', 0.42, 'ok');
  metrics.recordPlanSteps('prod', [{ kind: 'instance.launch' }]);
  metrics.recordError('etcd');
  metrics.recordSnapshot('prod', snapshot);
  metrics.recordDesiredReady('prod', 'manager', 1, 1);
  metrics.recordAlert('firing', 'marked');
  metrics.recordNotification('sent');
  app = await buildServer({ logger: silentLogger(), metrics, readiness: { etcd: async () => true, isLeader: () => true } });
  address = reserveLoopback({ block: ALERTING_TEST_BLOCK });
  const url = await listenServer(app, { host: address, port: 0 });
  prom = await startPrometheus({ targets: [new URL(url).host] });
});

afterAll(async () => {
  await prom?.stop();
  await app?.close();
  if (address) releaseLoopback(address);
});

function untilScraped<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
  return until(what, fn, { timeoutMs: 90_000, intervalMs: 500, context: () => `prometheus log: ${prom?.output().slice(-2000)}` });
}

describe('/metrics scraped by a real Prometheus', () => {
  it('is scraped successfully and every swarmkeeper metric name is stored', async () => {
    const target = await untilScraped('a healthy scrape', async () => (await prom?.targets())?.find((t) => t.health === 'up'));
    expect(target.lastError).toBe('');
    const expected = [
      `${METRIC_NAMES.reconcileTotal}`,
      `${METRIC_NAMES.reconcileDuration}_bucket`,
      `${METRIC_NAMES.reconcileDuration}_count`,
      METRIC_NAMES.planSteps,
      METRIC_NAMES.errors,
      METRIC_NAMES.nodes,
      METRIC_NAMES.nodesDesired,
      METRIC_NAMES.nodesReady,
      METRIC_NAMES.leader,
      METRIC_NAMES.etcdQuorumMargin,
      METRIC_NAMES.swarmQuorumMargin,
      METRIC_NAMES.healthMarks,
      METRIC_NAMES.alertsReceived,
      METRIC_NAMES.notifications,
      'process_resident_memory_bytes',
    ];
    const names = await untilScraped('every metric name', async () => {
      const n = (await prom?.metricNames()) ?? [];
      return expected.every((e) => n.includes(e)) ? n : undefined;
    });
    expect(names).toEqual(expect.arrayContaining(expected));
  });

  it('carries the values and labels the controller recorded', async () => {
    const leader = await untilScraped('the leader series', async () => (await prom?.query(METRIC_NAMES.leader))?.[0]);
    expect(leader.value[1]).toBe('1');
    const [margin] = (await prom?.query(`${METRIC_NAMES.etcdQuorumMargin}{cluster="prod"}`)) ?? [];
    expect(margin?.value[1]).toBe('0');
    const [steps] = (await prom?.query(`${METRIC_NAMES.planSteps}{cluster="prod",kind="instance.launch"}`)) ?? [];
    expect(steps?.value[1]).toBe('1');
    const [nodes] = (await prom?.query(`${METRIC_NAMES.nodes}{cluster="prod",role="manager",state="ready"}`)) ?? [];
    expect(nodes?.value[1]).toBe('1');
  });
});
