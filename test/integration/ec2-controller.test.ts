// The controller (createController, wired as src/controller/wire.ts
// wires it) with the EC2 provider against a real moto server, and SimWorld's swarm and
// etcd standing in for the nodes (moto launches no machines): every instance the
// provider launches into moto is attached to the SimWorld, whose simulated agents join
// it by the real protocol; every instance it terminates leaves the SimWorld. The
// management etcd is real. Converges 0 -> 3 managers + 5 workers -> 1 + 1, then counts
// the EC2 API calls of steady-state reconciles with an SDK middleware.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Etcd3 } from 'etcd3';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { motoEc2Spec, TEST_REGION, useTestCredentials } from '../support/ec2-fixtures.ts';
import { until } from '../support/until.ts';
import { aSwarmCluster } from '../support/spec-fixtures.ts';
import { TAGS } from '../../src/providers/ec2/ec2-instances.ts';
import { Ec2Provider } from '../../src/providers/ec2/ec2-provider.ts';
import type { Provider } from '../../src/providers/provider.ts';
import type { Instance } from '../../src/model/snapshot.ts';
import { SimWorld } from '../../src/providers/sim/index.ts';
import { createController, type Controller } from '../../src/controller/controller.ts';
import { plan } from '../../src/plan/plan.ts';
import { checkPrecondition } from '../../src/plan/preconditions.ts';
import { parseToken } from '../../src/plan/tokens.ts';
import { EtcdClusterStore } from '../../src/store/etcd-store.ts';
import { EtcdMarkStore } from '../../src/store/mark-store.ts';
import { ingestSpec } from '../../src/store/spec-intake.ts';
import { etcdManagementLink } from '../../src/store/management.ts';
import { getCondition } from '../../src/spec/conditions.ts';
import { EtcdBootstrapTokens, bootstrapAgentConfig } from '../../src/store/bootstrap-tokens.ts';
import { createLogger, silentLogger } from '../../src/log.ts';
import type { Ec2ProviderSpec } from '../../src/spec/schema.ts';

useTestCredentials();

const NAME = 'ec2sim';
const PREFIX = '/sk-ec2';
/** World ms per real ms: the SimWorld's agents boot and join 5x faster than real time. */
const WORLD_STEP_MS = 250;
const TICK_REAL_MS = 50;

let moto: MotoServer;
let mgmt: EtcdTestCluster;
let client: Etcd3;
let store: EtcdClusterStore;
let world: SimWorld;
let ticker: NodeJS.Timeout | undefined;
let controller: Controller | undefined;
let ec2: Ec2ProviderSpec;
/** EC2 commands in order, with a PLAN_MARK where each cycle planned (its observation came just before). */
const calls: string[] = [];
const PLAN_MARK = '#plan';
let cycles = 0;

/** The EC2 provider, with every launch attached to and every terminate removed from the SimWorld. */
class AttachedEc2Provider implements Provider {
  readonly name = 'ec2' as const;
  /** World time each instance was seen launched: moto's LaunchTime is real time, the controller's clock the world's. */
  private readonly launchedAt = new Map<string, number>();

  constructor(readonly inner: Ec2Provider) {}

  async list(cluster: string): Promise<Instance[]> {
    return (await this.inner.list(cluster)).map((i) => this.rebase(i));
  }

  async launch(req: Parameters<Provider['launch']>[0]): Promise<Instance[]> {
    const launched = (await this.inner.launch(req)).map((i) => this.rebase(i));
    for (const i of launched) world.attachInstance(i, req.spec.name);
    return launched;
  }

  async terminate(cluster: string, id: string): Promise<void> {
    await this.inner.terminate(cluster, id);
    world.removeInstance(id, 'controller');
  }

  dockerEndpoint(i: Instance) {
    return this.inner.dockerEndpoint(i);
  }

  etcdClientUrl(i: Instance): string {
    return this.inner.etcdClientUrl(i);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private rebase(i: Instance): Instance {
    if (!this.launchedAt.has(i.id)) this.launchedAt.set(i.id, world.now);
    return { ...i, launchedAt: this.launchedAt.get(i.id) ?? world.now };
  }
}

async function applySpec(managers: 1 | 3, workers: number): Promise<void> {
  await store.apply(
    aSwarmCluster({
      name: NAME,
      spec: {
        managers: { count: managers },
        workers: { count: workers },
        provider: { ec2 },
        healing: { unhealthyAfterSeconds: 30, nodeStartupTimeoutSeconds: 1800, minHealthySeconds: 0 },
      },
    }),
  );
}

/** EC2 (through moto), the simulated rafts and the controller's status all agree. */
async function waitConverged(managers: number, workers: number, timeoutMs: number): Promise<void> {
  const raw = new Ec2Provider({ ec2, statusIntervalMs: Number.POSITIVE_INFINITY });
  try {
    await until(
      `${managers}+${workers} in EC2, etcd, swarm and status`,
      async () => {
        const stored = await store.get(NAME);
        const s = stored?.status;
        if (!s || s.observedGeneration !== stored?.cluster.metadata.generation || getCondition(s.conditions, 'Ready')?.status !== 'True')
          return undefined;
        if (s.managers?.ready !== managers || s.workers?.ready !== workers) return undefined;
        const inEc2 = await raw.list(NAME);
        if (inEc2.filter((i) => i.role === 'manager').length !== managers || inEc2.filter((i) => i.role === 'worker').length !== workers)
          return undefined;
        const view = await world.etcd.view();
        const nodes = (await world.swarm.listNodes()).filter((n) => n.state === 'ready');
        const ok =
          view.members.filter((m) => !m.isLearner).length === managers &&
          view.members.every((m) => !m.isLearner) &&
          nodes.filter((n) => n.role === 'manager').length === managers &&
          nodes.filter((n) => n.role === 'worker').length === workers &&
          nodes.every((n) => inEc2.some((i) => i.id === n.instanceId));
        return ok ? true : undefined;
      },
      timeoutMs,
    );
  } finally {
    await raw.close();
  }
}

/** Every instance of the cluster EC2 knows, terminated ones included. */
async function everInstances(): Promise<{ id: string; state: string; token: string }[]> {
  const c = new EC2Client({ region: TEST_REGION, endpoint: moto.endpoint });
  try {
    const out = await c.send(new DescribeInstancesCommand({ Filters: [{ Name: `tag:${TAGS.cluster}`, Values: [NAME] }] }));
    return (out.Reservations ?? [])
      .flatMap((r) => r.Instances ?? [])
      .map((i) => ({
        id: i.InstanceId ?? '',
        state: i.State?.Name ?? '',
        token: i.Tags?.find((t) => t.Key === TAGS.clientToken)?.Value ?? '',
      }));
  } finally {
    c.destroy();
  }
}

beforeAll(async () => {
  [moto, mgmt] = await Promise.all([startMoto(), startEtcdCluster({ size: 1 })]);
  client = mgmt.client();
  ec2 = await motoEc2Spec(moto.endpoint);
  store = new EtcdClusterStore(client, { prefix: PREFIX, ownsClient: false });
  world = new SimWorld({ seed: 7, start: Date.now(), tickMs: WORLD_STEP_MS });
  ticker = setInterval(() => world.advance(WORLD_STEP_MS), TICK_REAL_MS);
  const tokens = new EtcdBootstrapTokens(client, PREFIX, () => world.now);
  const level = process.env.SWARMKEEPER_TEST_LOG;
  const logger = level ? createLogger({ level }) : silentLogger();
  controller = createController({
    management: etcdManagementLink(client),
    prefix: PREFIX,
    managementEndpoints: mgmt.endpoints,
    providerFor: (spec) =>
      new AttachedEc2Provider(
        new Ec2Provider({ ec2: spec.provider.ec2 ?? ec2, now: () => world.now, logger, onCommand: (n) => calls.push(n) }),
      ),
    peers: { swarm: () => world.swarm, etcd: () => world.etcd },
    loop: {
      store,
      plan: (spec, snapshot, opts) => {
        cycles += 1;
        calls.push(PLAN_MARK);
        return plan(spec, snapshot, opts);
      },
      checkPrecondition,
      marks: new EtcdMarkStore(client, { prefix: PREFIX }),
      ingest: (name, fence) => ingestSpec(store, name, world.now, fence),
    },
    agentConfig: bootstrapAgentConfig({
      issuer: tokens,
      bootstrapUrl: 'https://10.0.0.5:8443',
      managementEndpoints: mgmt.endpoints,
      prefix: PREFIX,
    }),
    logger,
    electionTtlSeconds: 5,
    resyncMs: 300,
    convergingMs: 200,
    now: () => world.now,
  });
  await controller.start();
}, 120_000);

afterAll(async () => {
  if (ticker) clearInterval(ticker);
  await controller?.stop().catch(() => undefined);
  client?.close();
  await Promise.allSettled([moto?.stop(), mgmt?.stop()]);
}, 120_000);

describe('controller with the EC2 provider (moto) and the SimWorld swarm/etcd', () => {
  it('converges from nothing to 3 managers + 5 workers', async () => {
    await applySpec(3, 5);
    await waitConverged(3, 5, 240_000);
    expect(world.quorumEvents.filter((e) => e.cause === 'controller')).toEqual([]);
    // Nothing launched twice or replaced: EC2 holds exactly 8 instances of the cluster in
    // any state, and every one carries the client token of the launch step that made it.
    const all = await everInstances();
    expect(all).toHaveLength(8);
    expect(all.filter((i) => parseToken(i.token) === undefined)).toEqual([]);
  }, 300_000);

  it('reconciles a converged cluster with one DescribeInstances call per cycle', async () => {
    // Let any last step settle, then look at whole cycles: the calls between two
    // consecutive plans are one cycle's observation (nothing is executed when converged).
    await new Promise((r) => setTimeout(r, 2000));
    calls.length = 0;
    const startCycles = cycles;
    await until('21 steady-state cycles', async () => (cycles - startCycles >= 21 ? true : undefined), 60_000);
    const marks = calls.flatMap((c, i) => (c === PLAN_MARK ? [i] : []));
    const perCycle = marks.slice(1).map((end, k) => calls.slice((marks[k] ?? 0) + 1, end));
    const count = (name: string): number[] => perCycle.map((c) => c.filter((x) => x === name).length);
    const describes = count('DescribeInstancesCommand');
    const statuses = count('DescribeInstanceStatusCommand');
    const others = perCycle.flat().filter((c) => c !== 'DescribeInstancesCommand' && c !== 'DescribeInstanceStatusCommand');
    process.stdout.write(
      `ec2 steady state: ${perCycle.length} cycles; DescribeInstances per cycle ${JSON.stringify(describes)}; DescribeInstanceStatus per cycle ${JSON.stringify(statuses)}; other calls ${others.length}\n`,
    );
    expect(perCycle.length).toBeGreaterThanOrEqual(20);
    // One page per cycle (8 instances, 1000 per page) and nothing else, except status
    // checks at most once per 60 s of controller time (its clock runs 5x: ~every 12 s).
    expect(describes.every((n) => n === 1)).toBe(true);
    expect(others).toEqual([]);
    expect(statuses.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(Math.ceil(perCycle.length / 10) + 1);
  }, 120_000);

  it('scales back to 1 manager + 1 worker', async () => {
    // Right after the scale-up: the instances the scale-down terminates belong to launches
    // still inside the planner's listing-lag window, and must not read as lagging launches
    // (which would launch a worker again: 9 instances instead of 8).
    await applySpec(1, 1);
    await waitConverged(1, 1, 300_000);
    expect(world.quorumEvents.filter((e) => e.cause === 'controller')).toEqual([]);
    // Scaling down launched nothing: the 8 are still all there is, 6 of them terminated.
    const all = await everInstances();
    expect(all).toHaveLength(8);
    expect(all.filter((i) => i.state === 'terminated')).toHaveLength(6);
  }, 360_000);
});
