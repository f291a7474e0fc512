// The bootstrap-token exchange end to end with real peers: tokens issued into a real
// etcd, instances launched by the EC2 provider into a real moto server (so the token's
// launch binding is checked against real DescribeInstances tags), and the route
// mounted in the real HTTP server (buildServer), driven with inject().
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import type { Etcd3 } from 'etcd3';
import type { FastifyInstance } from 'fastify';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { aLaunchRequest, anEc2Spec, motoEc2Spec, useTestCredentials } from '../support/ec2-fixtures.ts';
import { Ec2Provider } from '../../src/providers/ec2/ec2-provider.ts';
import { EtcdBootstrapTokens, bootstrapAgentConfig } from '../../src/store/bootstrap-tokens.ts';
import { parseBootstrapToken } from '../../src/store/bootstrap-token-format.ts';
import { bootstrapRoute, instanceFinder } from '../../src/http/bootstrap-route.ts';
import { exchangeBootstrapToken, reportInitialized } from '../../src/node/bootstrap-client.ts';
import type { JoinResponse } from '../../src/protocol/bootstrap-exchange.ts';
import { buildServer } from '../../src/http/server.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { createLogger } from '../../src/log.ts';
import { EtcdManagementKv } from '../../src/store/management-kv.ts';
import { clusterKeys } from '../../src/store/keys.ts';
import type { Instance } from '../../src/model/snapshot.ts';
import { resolveSpec, type ResolvedSpec } from '../../src/spec/defaults.ts';

useTestCredentials();

const PREFIX = '/sk-bootstrap-test';
let etcd: EtcdTestCluster;
let moto: MotoServer;
let client: Etcd3;
let provider: Ec2Provider;
let spec: ResolvedSpec;
let now = Date.parse('2026-01-01T00:00:00Z');
let logText = '';
let tokens: EtcdBootstrapTokens;
let app: FastifyInstance;

beforeAll(async () => {
  [etcd, moto] = await Promise.all([startEtcdCluster({ size: 1 }), startMoto()]);
  client = etcd.client();
});

afterAll(async () => {
  await app?.close();
  await provider?.close();
  client?.close();
  await Promise.allSettled([etcd?.stop(), moto?.stop()]);
});

beforeEach(async () => {
  await moto.reset();
  await client.delete().prefix(PREFIX);
  await app?.close();
  await provider?.close();
  logText = '';
  spec = anEc2Spec(await motoEc2Spec(moto.endpoint));
  provider = new Ec2Provider({ ec2: spec.provider.ec2 ?? (undefined as never), statusIntervalMs: Number.POSITIVE_INFINITY });
  tokens = new EtcdBootstrapTokens(client, PREFIX, () => now);
  app = await serveBootstrap();
});

/** The real server with the bootstrap route over this test's etcd, moto and clock. */
async function serveBootstrap(extra: { trustedProxies?: readonly string[] } = {}): Promise<FastifyInstance> {
  const logger = createLogger({
    level: 'debug',
    destination: new Writable({ write: (chunk, _enc, cb) => ((logText += chunk.toString()), cb()) }),
  });
  return buildServer({
    logger,
    metrics: createMetrics(),
    readiness: { etcd: async () => true, isLeader: () => true },
    ...extra,
    plugins: [
      {
        plugin: bootstrapRoute,
        options: {
          tokens,
          findInstance: instanceFinder(
            async (cluster) => (cluster === spec.name ? spec : undefined),
            () => provider,
          ),
          kvFor: (cluster: string) => EtcdManagementKv.forController(client, PREFIX, cluster),
          logger,
          clock: () => now,
        },
      },
    ],
  });
}

/** Launches through the provider with a freshly issued token, as the executor does. */
async function launch(role: 'manager' | 'worker', count: number): Promise<{ token: string; instances: Instance[] }> {
  const clientToken = `t-${role}-${Math.random().toString(36).slice(2, 10)}`;
  const agent = await bootstrapAgentConfig({
    issuer: tokens,
    bootstrapUrl: 'https://10.0.0.5:8443',
    managementEndpoints: ['http://10.0.0.5:2379'],
    prefix: PREFIX,
  })(spec, role, clientToken, count);
  const instances = await provider.launch(aLaunchRequest(spec, { role, count, clientToken, agent }));
  return { token: agent.bootstrapToken ?? '', instances };
}

async function exchange(token: string, inst: Instance, from = inst.address ?? '') {
  return app.inject({
    method: 'POST',
    url: '/v1/bootstrap',
    remoteAddress: from,
    payload: { cluster: 'prod', token, instanceId: inst.id },
  });
}

describe('bootstrap tokens', () => {
  it('issues the same token for the same launch, stores only its hash, and keeps it out of the logs', async () => {
    const agentConfig = bootstrapAgentConfig({ issuer: tokens, bootstrapUrl: 'https://x', managementEndpoints: [], prefix: PREFIX });
    const a = await agentConfig(spec, 'worker', 'launch-1');
    const b = await agentConfig(spec, 'worker', 'launch-1');
    const c = await agentConfig(spec, 'worker', 'launch-2');
    expect(a.bootstrapToken).toBe(b.bootstrapToken);
    expect(a.bootstrapToken).not.toBe(c.bootstrapToken);
    const parsed = parseBootstrapToken(a.bootstrapToken ?? '');
    const stored = await client.getAll().prefix(clusterKeys(PREFIX, 'prod').bootstrapTokens).strings();
    expect(Object.keys(stored)).toHaveLength(2);
    for (const text of Object.values(stored)) expect(text).not.toContain(parsed?.secret);
    const record = JSON.parse(stored[`${clusterKeys(PREFIX, 'prod').bootstrapTokens}${parsed?.id}`] ?? '{}') as { expiresAt: number };
    expect(record.expiresAt).toBe(now + spec.healing.nodeStartupTimeoutSeconds * 1000);
  });

  it('leaves clusters of other providers to their own factory: no token issued', async () => {
    const local = resolveSpec('dev', 1, { managers: { count: 1 }, workers: { count: 0 }, provider: { local: {} } });
    const factory = bootstrapAgentConfig({
      issuer: tokens,
      bootstrapUrl: 'https://x',
      managementEndpoints: [],
      prefix: PREFIX,
      otherProviders: async (s, role) => ({
        cluster: s.name,
        role,
        managementEtcd: { endpoints: ['http://127.0.0.1:2379'], prefix: PREFIX },
      }),
    });
    const cfg = await factory(local, 'manager', 'launch-local-1');
    expect(cfg.bootstrapToken).toBeUndefined();
    expect(await client.getAll().prefix(clusterKeys(PREFIX, 'dev').bootstrapTokens).keys()).toEqual([]);
    expect((await factory(spec, 'manager', 'launch-ec2-1')).bootstrapToken).toMatch(/^skb1\./);
  });

  it('lets the first manager initialise, holds the others until it reports, then gives workers the join token', async () => {
    const m = await launch('manager', 2);
    const w = await launch('worker', 2);
    const [m1, m2] = m.instances;
    const [w1, w2] = w.instances;
    if (!m1 || !m2 || !w1 || !w2) throw new Error('launch failed');

    const early = await exchange(w.token, w1);
    expect(early.statusCode).toBe(503);
    expect(early.headers['retry-after']).toBe('10');

    const init = await exchange(m.token, m1);
    expect(init.statusCode).toBe(200);
    expect(init.json<JoinResponse>()).toMatchObject({ initialize: true, role: 'manager', instanceId: m1.id });
    // The route's claim is permanent (lease 0): it must not die with this controller, or a
    // restarted one would let a second manager initialise a second cluster.
    const claimKv = (await client.get(clusterKeys(PREFIX, 'prod').initClaim).exec()).kvs[0];
    expect(claimKv?.lease).toBe('0');
    // Its answer lost on the way, the initialising manager may ask again (only it, only until it reports).
    expect((await exchange(m.token, m1)).json<JoinResponse>()).toMatchObject({ initialize: true, instanceId: m1.id });
    // A manager launched with it asks again soon: initialising takes seconds.
    const second = await exchange(m.token, m2);
    expect(second.statusCode).toBe(503);
    expect(second.headers['retry-after']).toBe('2');

    const report = await app.inject({
      method: 'POST',
      url: '/v1/bootstrap/initialized',
      remoteAddress: m1.address,
      payload: {
        cluster: 'prod',
        token: m.token,
        instanceId: m1.id,
        address: m1.address,
        swarmTokens: { worker: 'SWMTKN-1-worker-secret', manager: 'SWMTKN-1-manager-secret' },
      },
    });
    expect(report.statusCode).toBe(204);

    // Both instances of the batch redeem the one token, each once, concurrently.
    const [r1, r2] = await Promise.all([exchange(w.token, w1), exchange(w.token, w2)]);
    expect([r1.statusCode, r2.statusCode]).toEqual([200, 200]);
    expect(r1.json<JoinResponse>()).toEqual({
      cluster: 'prod',
      role: 'worker',
      instanceId: w1.id,
      initialize: false,
      swarm: { joinToken: 'SWMTKN-1-worker-secret', managers: [`${m1.address}:2377`] },
      etcd: { clientURLs: [`http://${m1.address}:2379`] },
      nodeCredential: expect.stringMatching(/^skn1\.[0-9a-f]{40}$/),
    });
    expect((await exchange(w.token, w1)).statusCode).toBe(401);
    expect((await exchange(m.token, m1)).statusCode).toBe(401);
    expect(logText).not.toContain(w.token);
    expect(logText).not.toContain('SWMTKN');
    expect(logText).toContain('Exchanged a bootstrap token');
  });

  it("refuses, with one answer and nothing consumed: a wrong secret, another launch's instance, a foreign address, an expired token", async () => {
    const m = await launch('manager', 1);
    const other = await launch('manager', 1);
    const [m1] = m.instances;
    const [o1] = other.instances;
    if (!m1 || !o1) throw new Error('launch failed');
    const wrong = `${m.token.slice(0, -4)}0000` === m.token ? `${m.token.slice(0, -4)}1111` : `${m.token.slice(0, -4)}0000`;
    const answers = [
      await exchange(wrong, m1),
      await exchange('not-a-token', m1),
      await exchange(m.token, o1),
      await exchange(m.token, m1, '10.9.9.9'),
    ];
    for (const a of answers) {
      expect(a.statusCode).toBe(401);
      expect(a.json()).toMatchObject({ message: 'bootstrap token invalid, expired or already used' });
    }
    now += spec.healing.nodeStartupTimeoutSeconds * 1000;
    expect((await exchange(m.token, m1)).statusCode).toBe(401);
    now -= 1000 * spec.healing.nodeStartupTimeoutSeconds;
    // Nothing above used the token up.
    expect((await exchange(m.token, m1)).statusCode).toBe(200);
    expect(logText).not.toContain(m.token);
  });

  it("the node-side client functions speak the route's protocol", async () => {
    const m = await launch('manager', 1);
    const w = await launch('worker', 1);
    const [m1] = m.instances;
    const [w1] = w.instances;
    if (!m1?.address || !w1?.address) throw new Error('launch failed');
    // fetch, served by the app in-process, from the given node's address.
    const from =
      (address: string): typeof fetch =>
      async (input, init) => {
        const url = new URL(String(input));
        const r = await app.inject({
          method: 'POST',
          url: url.pathname,
          remoteAddress: address,
          headers: { 'content-type': 'application/json' },
          payload: String(init?.body ?? ''),
        });
        return new Response(r.statusCode === 204 ? null : r.body, { status: r.statusCode, headers: r.headers as Record<string, string> });
      };
    expect(
      await exchangeBootstrapToken('https://controller:8443', { cluster: 'prod', token: w.token, instanceId: w1.id }, from(w1.address)),
    ).toEqual({ status: 503, retryAfterSeconds: 10 });
    const init = await exchangeBootstrapToken(
      'https://controller:8443',
      { cluster: 'prod', token: m.token, instanceId: m1.id },
      from(m1.address),
    );
    expect(init.join?.initialize).toBe(true);
    const swarmTokens = { worker: 'SWMTKN-1-w', manager: 'SWMTKN-1-m' };
    expect(
      await reportInitialized(
        'https://controller:8443',
        { cluster: 'prod', token: m.token, instanceId: m1.id, address: m1.address, swarmTokens },
        from(m1.address),
      ),
    ).toBe(204);
    const joined = await exchangeBootstrapToken(
      'https://controller:8443',
      { cluster: 'prod', token: w.token, instanceId: w1.id },
      from(w1.address),
    );
    expect(joined).toMatchObject({ status: 200, join: { initialize: false, swarm: { joinToken: 'SWMTKN-1-w' } } });
  });

  it("a node's standing credential reads its own cluster's endpoints and nothing else; its spent token reads nothing", async () => {
    const m = await launch('manager', 1);
    const w = await launch('worker', 2);
    const [m1] = m.instances;
    const [w1, w2] = w.instances;
    if (!m1?.address || !w1 || !w2) throw new Error('launch failed');
    const founder = (await exchange(m.token, m1)).json<JoinResponse>();
    const endpoints = (cluster: string, instanceId: string, credential: string) =>
      app.inject({
        method: 'GET',
        url: `/v1/bootstrap/endpoints?cluster=${cluster}&instanceId=${instanceId}`,
        headers: { authorization: `Bearer ${credential}` },
      });
    // Before the founder reports there is nothing to read, but the credential is good.
    expect((await endpoints('prod', m1.id, founder.nodeCredential ?? '')).statusCode).toBe(404);
    const swarmTokens = { worker: 'SWMTKN-1-worker-secret', manager: 'SWMTKN-1-manager-secret' };
    await app.inject({
      method: 'POST',
      url: '/v1/bootstrap/initialized',
      remoteAddress: m1.address,
      payload: { cluster: 'prod', token: m.token, instanceId: m1.id, address: m1.address, swarmTokens },
    });
    const joined = (await exchange(w.token, w1)).json<JoinResponse>();
    const credential = joined.nodeCredential ?? '';
    const own = await endpoints('prod', w1.id, credential);
    expect(own.statusCode).toBe(200);
    expect(own.json()).toMatchObject({ etcdClientURLs: [`http://${m1.address}:2379`], swarmManagers: [`${m1.address}:2377`] });
    expect(own.body).not.toContain('SWMTKN');
    // Bound to its instance and cluster: useless for another instance, another cluster.
    expect((await endpoints('prod', w2.id, credential)).statusCode).toBe(401);
    await client.put(clusterKeys(PREFIX, 'other').endpoints).value(own.body);
    expect((await endpoints('other', w1.id, credential)).statusCode).toBe(401);
    // Neither the spent bootstrap token nor a forged credential reads anything.
    for (const bad of [w.token, 'skn1.' + '0'.repeat(40), '']) expect((await endpoints('prod', w1.id, bad)).statusCode).toBe(401);
    // The credential is no bootstrap token either.
    expect((await exchange(credential, w2)).statusCode).toBe(401);
    expect(logText).not.toContain(credential);
  });

  it('fails a fully redeemed token at its record, without a provider list', async () => {
    const { token, instances } = await launch('worker', 1);
    const [only] = instances;
    if (!only) throw new Error('moto launched nothing');
    let lists = 0;
    const list = provider.list.bind(provider);
    provider.list = async (...args) => ((lists += 1), list(...args));
    // The launch made one instance and it redeems: the token covers nobody else.
    expect((await tokens.verify('prod', token, only.id)).ok).toBe(true);
    const { id } = parseBootstrapToken(token) ?? { id: '' };
    expect(await tokens.consume('prod', id, only.id)).toBe(true);
    expect(await tokens.verify('prod', token, 'i-0123456789abcdef0')).toEqual({ ok: false, reason: 'used' });
    const res = await app.inject({
      method: 'POST',
      url: '/v1/bootstrap',
      remoteAddress: only.address ?? '',
      payload: { cluster: 'prod', token, instanceId: 'i-0123456789abcdef0' },
    });
    expect(res.statusCode).toBe(401);
    expect(lists).toBe(0);
  });

  it('refuses an init report from a node that does not hold the claim', async () => {
    const m = await launch('manager', 2);
    const [a, b] = m.instances;
    if (!a || !b) throw new Error('launch failed');
    expect((await exchange(m.token, a)).json<JoinResponse>().initialize).toBe(true);
    expect((await exchange(m.token, b)).statusCode).toBe(503);
    const report = await app.inject({
      method: 'POST',
      url: '/v1/bootstrap/initialized',
      remoteAddress: b.address,
      payload: {
        cluster: 'prod',
        token: m.token,
        instanceId: b.id,
        address: b.address,
        swarmTokens: { worker: 'SWMTKN-x', manager: 'SWMTKN-y' },
      },
    });
    expect(report.statusCode).toBe(401);
    expect(await new EtcdManagementKv(client, PREFIX, 'prod', false).readTokens()).toBeUndefined();
  });
  it("behind a trusted TLS proxy, checks the forwarded client address, not the proxy's, and cannot be fooled by a forged header", async () => {
    const proxied = await serveBootstrap({ trustedProxies: ['10.0.0.7'] });
    try {
      const m = await launch('manager', 1);
      const [m1] = m.instances;
      if (!m1?.address) throw new Error('launch failed');
      const via = (remoteAddress: string, xff: string) =>
        proxied.inject({
          method: 'POST',
          url: '/v1/bootstrap',
          remoteAddress,
          headers: { 'x-forwarded-for': xff },
          payload: { cluster: 'prod', token: m.token, instanceId: m1.id },
        });
      // A client elsewhere names the node's address; the proxy appends the real one.
      expect((await via('10.0.0.7', `${m1.address}, 10.8.8.8`)).statusCode).toBe(401);
      // Straight to the server, the header counts for nothing.
      expect((await via('10.8.8.8', m1.address)).statusCode).toBe(401);
      // The direct server (no trusted proxy) does not believe the proxy either.
      expect(
        (
          await app.inject({
            method: 'POST',
            url: '/v1/bootstrap',
            remoteAddress: '10.0.0.7',
            headers: { 'x-forwarded-for': m1.address },
            payload: { cluster: 'prod', token: m.token, instanceId: m1.id },
          })
        ).statusCode,
      ).toBe(401);
      // From the node, through the proxy: accepted (nothing above used the token).
      const ok = await via('10.0.0.7', m1.address);
      expect(ok.statusCode).toBe(200);
      expect(ok.json<JoinResponse>()).toMatchObject({ initialize: true, instanceId: m1.id });
    } finally {
      await proxied.close();
    }
  });
});
