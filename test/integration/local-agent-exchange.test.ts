// The node agent joining through the controller's bootstrap-token exchange (the ec2 way)
// with real peers: the bootstrap route in a real fastify server on a loopback address, tokens
// issued into a real management etcd, real dockerds, the agent's own etcd and gateway.
// The nodes never read the protected secrets key: the first manager is told to
// initialise and reports its swarm; the worker gets its join token from the exchange.
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exchangeKvOf, type BootstrapFlags } from '../../src/cli/commands/node.ts';
import { bootstrapRoute } from '../../src/http/bootstrap-route.ts';
import { exchangeBootstrapToken } from '../../src/node/bootstrap-client.ts';
import { silentLogger } from '../../src/log.ts';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import { EtcdBootstrapTokens } from '../../src/store/bootstrap-tokens.ts';
import { parseClaim, parseEndpoints, swarmTokensKey } from '../../src/protocol/cluster-endpoints.ts';
import { EtcdManagementKv } from '../../src/store/management-kv.ts';
import type { Instance } from '../../src/model/snapshot.ts';
import { clusterKeys } from '../../src/store/keys.ts';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';
import { startSwarm, type TestDockerNode, type TestSwarm } from '../support/dockerd.ts';
import { startTestAgent, stopAllTestAgents, type TestAgent } from '../support/node-agent.ts';
import { until } from '../support/until.ts';

const CLUSTER = 'xchg';
const PREFIX = '/sk-xchg-it';
const keys = clusterKeys(PREFIX, CLUSTER);

let mgmt: EtcdTestCluster;
let swarm: TestSwarm;
let m1: TestDockerNode;
let w1: TestDockerNode;
let app: FastifyInstance;
let url: string;
let serverAddress: string;
const tmp = mkdtempSync(join(tmpdir(), 'sk-xchg-'));
const exchanges: string[] = [];
const endpointReads: string[] = [];
const issued = new Map<string, string>();
const launches = new Map<string, { role: 'manager' | 'worker'; clientToken: string; address: string }>();

beforeAll(async () => {
  mgmt = await startEtcdCluster({ size: 1 });
  swarm = await startSwarm({ managers: 0, workers: 0, form: false, idPrefix: `xc${process.pid}` });
  [m1, w1] = await Promise.all([swarm.addNode('manager'), swarm.addNode('worker')]);
  const client = mgmt.client();
  const tokens = new EtcdBootstrapTokens(client, PREFIX);
  app = Fastify();
  app.addHook('onRequest', async (req) => {
    (req.method === 'POST' ? exchanges : endpointReads).push(req.url);
  });
  await app.register(bootstrapRoute, {
    tokens,
    // The instance as the provider would list it (what the token's launch binding is checked against).
    findInstance: async (_cluster: string, id: string): Promise<Instance | undefined> => {
      const l = launches.get(id);
      return (
        l && {
          id,
          role: l.role,
          state: 'running',
          launchedAt: Date.now(),
          address: l.address,
          configHash: 'h',
          clientToken: l.clientToken,
          tags: {},
        }
      );
    },
    kvFor: (cluster: string) => new EtcdManagementKv(client, PREFIX, cluster, false),
    // The agents run in this process: their requests come from 127.0.0.1, not the node address.
    requireSourceAddress: false,
    logger: silentLogger(),
  });
  serverAddress = reserveLoopback({ block: 203 });
  await app.listen({ host: serverAddress, port: 0 });
  const port = (app.server.address() as { port: number }).port;
  url = `http://${serverAddress}:${port}`;
  for (const n of [m1, w1]) {
    const clientToken = `ct-${n.instanceId}`;
    launches.set(n.instanceId, { role: n.role, clientToken, address: n.address });
    const token = await tokens.issue({ cluster: CLUSTER, role: n.role, clientToken, ttlSeconds: 600 });
    issued.set(n.instanceId, token);
    writeFileSync(join(tmp, `${n.instanceId}.token`), token, { mode: 0o600 });
  }
});

afterAll(async () => {
  await stopAllTestAgents();
  await app?.close();
  if (serverAddress) releaseLoopback(serverAddress);
  await swarm?.cleanup();
  await mgmt?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function agentOn(node: TestDockerNode): Promise<TestAgent> {
  const dataDir = join(node.dir, 'agent');
  const flags: BootstrapFlags = {
    role: node.role,
    cluster: CLUSTER,
    instanceId: node.instanceId,
    address: node.address,
    dockerHost: `unix://${node.process.socketPath}`,
    dataDir,
    bootstrapUrl: url,
    bootstrapTokenFile: join(tmp, `${node.instanceId}.token`),
  };
  const config = { cluster: CLUSTER, role: node.role, managementEtcd: { endpoints: mgmt.endpoints, prefix: PREFIX }, bootstrapUrl: url };
  const identity = { instanceId: node.instanceId, address: node.address, dataDir };
  // As on EC2: no management etcd client at all; endpoints come from the controller.
  const kv = await exchangeKvOf(flags, config, identity);
  return startTestAgent({
    cluster: CLUSTER,
    role: node.role,
    identity,
    managementEndpoints: mgmt.endpoints,
    prefix: PREFIX,
    swarm: node.api,
    kv,
  });
}

describe('node agent joining through the bootstrap token exchange (real route, etcd, dockerd)', () => {
  it('the first manager is told to initialise, then reports its swarm: the controller records claim, tokens and endpoints', async () => {
    const a = await agentOn(m1);
    await a.waitFor((x) => x.kind === 'steady');
    expect(a.actions.map((x) => x.kind).filter((k) => k !== 'wait')).toEqual(['startEtcd', 'swarmInit', 'storeTokens', 'steady']);
    const kv = mgmt.client();
    try {
      expect(parseClaim((await kv.get(keys.initClaim).string()) ?? '').instanceId).toBe(m1.instanceId);
      expect(await kv.get(swarmTokensKey(keys.secrets)).string()).toContain('SWMTKN-');
      expect(parseEndpoints((await kv.get(keys.endpoints).string()) ?? '').swarmManagers).toEqual([`${m1.address}:2377`]);
    } finally {
      kv.close();
    }
  });

  it('a worker joins with the exchanged token; the answer is kept (0600) and the token cannot be used again', async () => {
    const a = await agentOn(w1);
    await a.waitFor((x) => x.kind === 'steady');
    // The manager's view of a new node (its engine labels, its ready state) lags the join.
    const n = await until(
      "the worker to be ready in the manager's view",
      async () => (await m1.api.listNodes()).find((x) => x.instanceId === w1.instanceId && x.state === 'ready'),
      60_000,
    );
    expect(n).toMatchObject({ role: 'worker', state: 'ready' });
    expect(statSync(join(w1.dir, 'agent', 'bootstrap-answer.json')).mode & 0o777).toBe(0o600);
    const token = issued.get(w1.instanceId) ?? '';
    // Spent, the worker's token is gone from the node; the founder keeps its own (it reports again after a restart).
    expect(existsSync(join(tmp, `${w1.instanceId}.token`))).toBe(false);
    expect(existsSync(join(tmp, `${m1.instanceId}.token`))).toBe(true);
    // One exchange per node (the one-time token), one init report.
    expect(exchanges.sort()).toEqual(['/v1/bootstrap', '/v1/bootstrap', '/v1/bootstrap/initialized']);
    // The worker's gateway followed the published endpoints through the controller, with its node credential.
    expect(endpointReads.some((u) => u.startsWith(`/v1/bootstrap/endpoints?cluster=${CLUSTER}&instanceId=${w1.instanceId}`))).toBe(true);
    expect((await exchangeBootstrapToken(url, { cluster: CLUSTER, token, instanceId: w1.instanceId })).status).toBe(401);
  });
});
