import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Writable } from 'node:stream';
import { createLogger, silentLogger } from '../log.ts';
import type { Instance, Snapshot, SwarmNode } from '../model/snapshot.ts';
import { MemoryMarkStore } from '../store/memory-mark-store.ts';
import { staticNodeDirectory } from '../heal/node-directory.ts';
import { bearerTokenMatches } from './auth.ts';
import { createMetrics, METRIC_NAMES, quorumMargins } from './metrics.ts';
import { buildServer, listenServer, parseListenAddress, type ReadinessChecks } from './server.ts';

const TOKEN = 'unit-test-token-0123456789';
const NOW = Date.parse('2026-03-01T12:00:00Z');

function anInstance(o: Partial<Instance> = {}): Instance {
  return { id: 'w1', role: 'worker', state: 'running', launchedAt: NOW - 60_000, address: '127.9.1.2', configHash: 'h', tags: {}, ...o };
}
function aNode(o: Partial<SwarmNode> = {}): SwarmNode {
  return {
    id: 'node-w1',
    role: 'worker',
    availability: 'active',
    state: 'ready',
    leader: false,
    instanceId: 'w1',
    address: '127.9.1.2',
    version: 3,
    ...o,
  };
}
function aPayload(status: 'firing' | 'resolved', labels: Record<string, string>) {
  return {
    version: '4',
    status,
    receiver: 'swarmkeeper',
    alerts: [{ status, labels: { alertname: 'SwarmNodeDown', ...labels }, startsAt: '2026-03-01T11:59:00Z' }],
  };
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function setUp(readiness: Partial<ReadinessChecks> = {}) {
  const marks = new MemoryMarkStore();
  const metrics = createMetrics({ processMetrics: false });
  app = await buildServer({
    logger: silentLogger(),
    metrics,
    readiness: { etcd: async () => true, isLeader: () => false, ...readiness },
    alerts: {
      webhookToken: TOKEN,
      marks,
      directory: staticNodeDirectory({ prod: { instances: [anInstance()], swarmNodes: [aNode()] } }),
      clock: () => NOW,
    },
  });
  return { app, marks, metrics };
}

const post = (a: FastifyInstance, body: unknown, headers: Record<string, string> = {}) =>
  a.inject({
    method: 'POST',
    url: '/v1/alerts',
    payload: JSON.stringify(body),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...headers },
  });

describe('buildServer', () => {
  it("gives fastify's own logger the secret-scrubbing err serializer", async () => {
    const lines: string[] = [];
    const destination = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) });
    app = await buildServer({
      logger: createLogger({ destination }),
      metrics: createMetrics({ processMetrics: false }),
      readiness: { etcd: async () => true, isLeader: () => false },
    });
    app.log.error({ err: new Error('join refused', { cause: new Error('SWMTKN-1-abc-s3cr3t') }) }, 'Fastify logging an error');
    expect(lines.join('')).toContain('SWMTKN-[redacted]');
    expect(lines.join('')).not.toContain('s3cr3t');
  });

  it('answers /healthz', async () => {
    const { app } = await setUp();
    const res = await app.inject({ url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('is ready when etcd answers; a follower does not need the swarm', async () => {
    const { app } = await setUp({ swarm: async () => false });
    const res = await app.inject({ url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ leader: false, checks: { etcd: 'ok', swarm: 'skipped' } });
  });

  it('is not ready when the leader cannot reach the swarm, or etcd hangs', async () => {
    const { app: a1 } = await setUp({ isLeader: () => true, swarm: async () => false });
    expect((await a1.inject({ url: '/readyz' })).statusCode).toBe(503);
    await a1.close();
    const { app: a2 } = await setUp({ etcd: () => new Promise<boolean>(() => {}) });
    const res = await a2.inject({ url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json().checks.etcd).toBe('failed');
  });

  it('marks on a firing alert and clears on the resolved one', async () => {
    const { app, marks, metrics } = await setUp();
    const fired = await post(app, aPayload('firing', { swarmkeeper_cluster: 'prod', instance_id: 'w1' }));
    expect(fired.statusCode).toBe(200);
    expect(fired.json()).toEqual({ marked: ['w1'], cleared: [], ignored: 0 });
    const listed = await marks.listMarks('prod', NOW);
    expect(listed).toEqual([
      // since is the controller's first sight (NOW), not the alert's startsAt (a minute earlier).
      { instanceId: 'w1', source: 'alert', reason: 'Alert SwarmNodeDown firing', since: NOW, expiresAt: NOW + 900_000 },
    ]);
    const resolved = await post(app, aPayload('resolved', { cluster: 'prod', swarm_node_id: 'node-w1' }));
    expect(resolved.json()).toEqual({ marked: [], cleared: ['w1'], ignored: 0 });
    expect(await marks.listMarks('prod', NOW)).toEqual([]);
    const text = await metrics.render();
    expect(text).toContain(`${METRIC_NAMES.alertsReceived}{status="firing",outcome="marked"} 1`);
    expect(text).toContain(`${METRIC_NAMES.alertsReceived}{status="resolved",outcome="cleared"} 1`);
  });

  it.each([
    ['address with port', { instance: '127.9.1.2:9100' }],
    ['address label', { address: '127.9.1.2' }],
    ['EC2-style hostname', { hostname: 'ip-127-9-1-2.eu-west-1.compute.internal' }],
  ])('places an alert by %s', async (_name, labels) => {
    const { app, marks } = await setUp();
    const res = await post(app, aPayload('firing', { swarmkeeper_cluster: 'prod', ...labels }));
    expect(res.statusCode).toBe(200);
    expect((await marks.listMarks('prod', NOW)).map((m) => m.instanceId)).toEqual(['w1']);
  });

  it('refuses a wrong token with 401 and a body it never reads', async () => {
    const { app, marks } = await setUp();
    const res = await post(app, aPayload('firing', { swarmkeeper_cluster: 'prod', instance_id: 'w1' }), { authorization: 'Bearer nope' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toContain('invalid_token');
    expect(await marks.listMarks('prod', NOW)).toEqual([]);
  });

  it('binds 127.0.0.1 unless told otherwise', async () => {
    const { app } = await setUp();
    const url = await listenServer(app);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('serves Prometheus text on /metrics', async () => {
    const { app, metrics } = await setUp();
    metrics.setLeader(true);
    metrics.recordReconcile('prod', 0.3, 'ok');
    metrics.recordPlanSteps('prod', [{ kind: 'instance.launch' }, { kind: 'instance.launch' }]);
    const res = await app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toContain('swarmkeeper_leader 1');
    expect(res.body).toContain('swarmkeeper_plan_steps_total{cluster="prod",kind="instance.launch"} 2');
    expect(res.body).toContain('swarmkeeper_reconcile_duration_seconds_bucket{le="0.5",cluster="prod"} 1');
  });
});

describe('metrics', () => {
  const snapshot = (healthy: boolean[], reachable: boolean[]): Snapshot => ({
    observedAt: NOW,
    instances: { status: 'ok', value: [anInstance(), anInstance({ id: 'w2' })] },
    swarm: {
      status: 'ok',
      value: {
        initialized: true,
        nodes: [
          aNode(),
          ...reachable.map((r, i) =>
            aNode({ id: `m${i}`, role: 'manager', instanceId: `m${i}`, reachability: r ? 'reachable' : 'unreachable' }),
          ),
        ],
      },
    },
    etcd: {
      status: 'ok',
      value: {
        alarms: [],
        members: healthy.map((h, i) => ({
          id: `${i}`,
          name: `m${i}`,
          peerURLs: [],
          clientURLs: [],
          isLearner: false,
          leader: i === 0,
          healthy: h,
        })),
      },
    },
    marks: [{ instanceId: 'w1', source: 'alert', reason: 'x', since: NOW }],
    operations: [],
    controls: [],
  });

  it('computes quorum margins per raft', () => {
    expect(quorumMargins(snapshot([true, true, true], [true, true, true]))).toEqual({ etcd: 1, swarm: 1 });
    expect(quorumMargins(snapshot([true, false, false], [true, true, false]))).toEqual({ etcd: -1, swarm: 0 });
  });

  it('counts healthy voters the way the planner does', () => {
    const s = snapshot([true, true, true], [true, true, true]);
    const swarm = s.swarm.status === 'ok' ? s.swarm.value : undefined;
    const etcd = s.etcd.status === 'ok' ? s.etcd.value : undefined;
    if (!swarm || !etcd) throw new Error('fixture must be read');
    // A reachable manager whose node is down, and a voter that has not started (no name).
    const nodes = swarm.nodes.map((n) => (n.id === 'm1' ? { ...n, state: 'down' as const } : n));
    const members = etcd.members.map((m) => (m.id === '1' ? { ...m, name: '' } : m));
    const changed: Snapshot = {
      ...s,
      swarm: { status: 'ok', value: { ...swarm, nodes } },
      etcd: { status: 'ok', value: { ...etcd, members } },
    };
    expect(quorumMargins(changed)).toEqual({ etcd: 0, swarm: 0 });
  });

  it('records nodes by role and state, and forgets a deleted cluster', async () => {
    const m = createMetrics({ processMetrics: false });
    m.recordSnapshot('prod', snapshot([true, true, true], [true, true, true]));
    let text = await m.render();
    expect(text).toContain('swarmkeeper_nodes{cluster="prod",role="worker",state="ready"} 1');
    expect(text).toContain('swarmkeeper_nodes{cluster="prod",role="worker",state="absent"} 1');
    expect(text).toContain('swarmkeeper_nodes{cluster="prod",role="manager",state="ready"} 3');
    expect(text).toContain('swarmkeeper_health_marks{cluster="prod",source="alert"} 1');
    m.forgetCluster('prod');
    text = await m.render();
    expect(text).not.toContain('cluster="prod"');
  });
});

describe('helpers', () => {
  it.each([
    [`Bearer ${TOKEN}`, true],
    [`bearer ${TOKEN}`, true],
    [`Bearer ${TOKEN}x`, false],
    [`Basic ${TOKEN}`, false],
    ['Bearer ', false],
    [TOKEN, false],
  ])('bearerTokenMatches(%j) is %s', (header, ok) => {
    expect(bearerTokenMatches(header, TOKEN)).toBe(ok);
  });

  it('parses listen addresses', () => {
    expect(parseListenAddress('0.0.0.0:8080')).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(parseListenAddress(':9000')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(parseListenAddress('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(() => parseListenAddress('8080')).toThrow(/host:port/);
  });
});
