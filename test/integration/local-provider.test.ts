// The local provider against real processes: each instance a detached dockerd plus a
// node agent (`node bin/swarmkeeper.js node bootstrap`) that starts etcd and joins the
// swarm. Every test run terminates what it launched, even on failure (afterAll).
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POOL_DIR } from '../../src/net/loopback-pool.ts';
import type { Instance } from '../../src/model/snapshot.ts';
import { LocalProvider } from '../../src/providers/local/local-provider.ts';
import type { LaunchRequest } from '../../src/providers/provider.ts';
import { resolveSpec } from '../../src/spec/defaults.ts';
import { nodeConfigHash } from '../../src/spec/config-hash.ts';
import type { Role } from '../../src/spec/schema.ts';
import { DockerSwarm } from '../../src/swarm/docker-swarm.ts';
import { processesNaming } from '../support/processes.ts';
import { until } from '../support/until.ts';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';

const CLUSTER = 'local-it';
const PREFIX = '/sk-local-it';
const BLOCK = 202;

let mgmt: EtcdTestCluster;
let baseDir: string;
let provider: LocalProvider;
const swarms: DockerSwarm[] = [];
const etcds: Etcd3[] = [];
/** Every cluster a test launched into: afterAll terminates what is left in each. */
const clusters = new Set<string>();

beforeAll(async () => {
  mgmt = await startEtcdCluster({ size: 1 });
  baseDir = mkdtempSync('/tmp/skp-');
  provider = new LocalProvider({ baseDir, addressBlock: BLOCK });
});

afterAll(async () => {
  for (const s of swarms) await s.close().catch(() => undefined);
  for (const e of etcds) e.close();
  if (provider) {
    for (const cluster of clusters) {
      const left = await provider.list(cluster).catch(() => [] as Instance[]);
      for (const i of left) await provider.terminate(cluster, i.id).catch(() => undefined);
    }
    // Node dirs of instances whose record is gone but whose processes might not be.
    for (const id of existsSync(join(baseDir, 'n')) ? readdirSync(join(baseDir, 'n')) : []) {
      for (const cluster of clusters) await provider.terminate(cluster, id).catch(() => undefined);
    }
  }
  if (baseDir) rmSync(baseDir, { recursive: true, force: true });
  await mgmt?.stop();
});

function launchRequest(role: Role, clientToken: string, cluster = CLUSTER): LaunchRequest {
  clusters.add(cluster);
  const spec = resolveSpec(cluster, 1, { managers: { count: 1 }, workers: { count: 1 }, provider: { local: { addressBlock: BLOCK } } });
  return {
    spec,
    role,
    count: 1,
    clientToken,
    configHash: nodeConfigHash(spec, role),
    agent: { cluster, role, managementEtcd: { endpoints: mgmt.endpoints, prefix: PREFIX } },
  };
}

function swarmOf(i: Instance): DockerSwarm {
  const s = new DockerSwarm(provider.dockerEndpoint(i));
  swarms.push(s);
  return s;
}

const eventually = (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 120_000, context?: () => string): Promise<boolean> =>
  until(what, check, { timeoutMs, intervalMs: 500, ...(context ? { context } : {}) });

/** The last lines of a file, for a timeout's message. */
const tailOf = (file: string, lines = 30): string =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n') : `${file} does not exist`;

/** Launches a manager into `cluster` and waits until its agent has initialised the swarm. */
async function aManagerOf(cluster: string, token: string): Promise<{ manager: Instance; launched: Instance[] }> {
  const launched = await provider.launch(launchRequest('manager', token, cluster));
  const manager = launched[0]!;
  const s = swarmOf(manager);
  await eventually(`the manager of ${cluster} to initialise the swarm`, async () => (await s.info()).isManager);
  return { manager, launched };
}

/**
 * The manager of CLUSTER that the tests which only read it share: launched by whichever
 * of them runs first, so each also runs alone (`-t`). Tests that kill or terminate a node
 * launch their own, in a cluster of their own.
 */
let sharedManager: Promise<{ manager: Instance; launched: Instance[] }> | undefined;
const theManager = (): Promise<{ manager: Instance; launched: Instance[] }> => (sharedManager ??= aManagerOf(CLUSTER, 'local-it-g1-m0'));

const pidIn = (file: string): number => Number(readFileSync(file, 'utf8'));

describe('LocalProvider (real dockerd, etcd and node agents)', () => {
  it('launches a manager whose agent starts etcd and initialises the swarm', async () => {
    const { manager, launched } = await theManager();
    expect(launched).toHaveLength(1);
    // The launch returns at the spawn, as RunInstances does: pending until dockerd answers.
    expect(manager).toMatchObject({ role: 'manager', state: 'pending', clientToken: 'local-it-g1-m0' });
    expect(manager).not.toHaveProperty('statusChecksOk');
    const listed = (await provider.list(CLUSTER)).find((i) => i.id === manager.id);
    expect(listed).toMatchObject({ state: 'running', statusChecksOk: true });
    expect(manager.address).toMatch(new RegExp(`^127\\.${BLOCK}\\.\\d+\\.\\d+$`));
    expect(provider.etcdClientUrl(manager)).toBe(`http://${manager.address}:2379`);
    const etcd = new Etcd3({ hosts: [provider.etcdClientUrl(manager)] });
    etcds.push(etcd);
    await eventually('the manager etcd to serve', async () => (await etcd.cluster.memberList({})).members.length === 1);
    // The engine labels reach the node description a moment after `swarm init`.
    const s = swarmOf(manager);
    await eventually(
      'the swarm node labelled with the instance id',
      async () => (await s.listNodes()).map((n) => n.instanceId).includes(manager.id),
      30_000,
    );
  });

  it('is idempotent on the client token: the same instances, nothing new', async () => {
    const { manager } = await theManager();
    const listed = (await provider.list(CLUSTER)).map((i) => i.id).sort();
    const nodeDirs = readdirSync(join(baseDir, 'n')).sort();
    const again = await provider.launch(launchRequest('manager', 'local-it-g1-m0'));
    expect(again.map((i) => i.id)).toEqual([manager.id]);
    expect((await provider.list(CLUSTER)).map((i) => i.id).sort()).toEqual(listed);
    expect(listed).toContain(manager.id);
    expect(readdirSync(join(baseDir, 'n')).sort()).toEqual(nodeDirs);
  });

  it('keeps its state for a new provider instance (a restarted controller)', async () => {
    const { manager } = await theManager();
    const fresh = new LocalProvider({ baseDir, addressBlock: BLOCK });
    try {
      const listed = (await fresh.list(CLUSTER)).find((i) => i.id === manager.id);
      if (!listed) throw new Error(`a new provider does not list ${manager.id}`);
      const { id, role, state, address, configHash, clientToken } = listed;
      expect({ id, role, state, address, configHash, clientToken }).toEqual({
        id: manager.id,
        role: 'manager',
        state: 'running',
        address: manager.address,
        configHash: manager.configHash,
        clientToken: manager.clientToken,
      });
      expect(fresh.dockerEndpoint(listed)).toEqual(provider.dockerEndpoint(manager));
      expect((await fresh.launch(launchRequest('manager', 'local-it-g1-m0'))).map((i) => i.id)).toEqual([manager.id]);
    } finally {
      await fresh.close();
    }
  });

  it('launches a worker that joins the swarm through its agent', async () => {
    const { manager } = await theManager();
    const [worker] = (await provider.launch(launchRequest('worker', 'local-it-g1-w1'))) as [Instance];
    const s = swarmOf(manager);
    await eventually('the worker in the swarm', async () =>
      (await s.listNodes()).some((n) => n.instanceId === worker.id && n.state === 'ready'),
    );
  });

  it('lists an instance whose dockerd was killed as stopped', async () => {
    // A worker of a cluster of its own: its dockerd runs whether or not it joins a swarm.
    const cluster = 'local-it-kill';
    const [worker] = (await provider.launch(launchRequest('worker', 'local-it-kill-w0', cluster))) as [Instance];
    await eventually(
      'the worker listed as running',
      async () => (await provider.list(cluster)).find((i) => i.id === worker.id)?.state === 'running',
    );
    process.kill(pidIn(join(baseDir, 'n', worker.id, 'd.pid')), 'SIGKILL');
    await eventually(
      'the worker listed as stopped',
      async () => (await provider.list(cluster)).find((i) => i.id === worker.id)?.state === 'stopped',
      30_000,
    );
  });

  it('treats a manager whose dockerd and etcd were killed as a dead node: its agent stops, it is listed stopped', async () => {
    const cluster = 'local-it-dead';
    const { manager } = await aManagerOf(cluster, 'local-it-dead-m0');
    const dir = join(baseDir, 'n', manager.id);
    const agentPid = pidIn(join(dir, 'agent.pid'));
    for (const pidFile of [join(dir, 'd.pid'), join(dir, 'agent', 'etcd.pid')]) process.kill(pidIn(pidFile), 'SIGKILL');
    await eventually(
      'the agent to give the node up',
      () => !existsSync(`/proc/${agentPid}`) || readFileSync(`/proc/${agentPid}/stat`, 'utf8').includes(') Z '),
      60_000,
      () => `agent.log:\n${tailOf(join(dir, 'agent.log'))}`,
    );
    expect(readFileSync(join(dir, 'agent.log'), 'utf8')).toContain('the node is dead');
    const listed = (await provider.list(cluster)).find((i) => i.id === manager.id);
    expect(listed).toMatchObject({ state: 'stopped', statusChecksOk: false });
  });

  it('finishes a launch whose launcher died mid-launch when the launch is repeated with its token', async () => {
    // The controller was killed while the provider was starting the node: the record
    // still says 'launching' and the detached processes it had started live on.
    // Reproduce that state on disk.
    const cluster = 'local-it-crash';
    const crashed = new LocalProvider({ baseDir, addressBlock: BLOCK });
    const token = 'it-crash-mid-launch';
    const [first] = await crashed.launch(launchRequest('worker', token, cluster));
    if (!first) throw new Error('no instance launched');
    // Up, so its dockerd has written the pid file a restarted provider stops it by.
    await eventually('the first dockerd up', async () => (await crashed.list(cluster)).find((i) => i.id === first.id)?.state === 'running');
    await crashed.close();
    const recordFile = join(baseDir, 'state', cluster, `${first.id}.json`);
    const rec = JSON.parse(readFileSync(recordFile, 'utf8')) as Record<string, unknown>;
    const halfStarted = pidIn(join(String(rec.nodeDir), 'd.pid'));
    writeFileSync(recordFile, JSON.stringify({ ...rec, phase: 'launching', pids: {} }));
    const restarted = new LocalProvider({ baseDir, addressBlock: BLOCK });
    try {
      expect((await restarted.list(cluster)).find((i) => i.id === first.id)?.state).toBe('pending');

      const again = await restarted.launch(launchRequest('worker', token, cluster));
      expect(again.map((i) => i.id)).toEqual([first.id]);
      expect(again[0]?.state).toBe('pending');
      await eventually(
        'the finished instance to list as running',
        async () => (await restarted.list(cluster)).find((i) => i.id === first.id)?.state === 'running',
      );
      // The half-started dockerd was replaced, not left running beside a second one.
      expect(pidIn(join(String(rec.nodeDir), 'd.pid'))).not.toBe(halfStarted);
      expect(existsSync(`/proc/${halfStarted}`) && !readFileSync(`/proc/${halfStarted}/stat`, 'utf8').includes(') Z ')).toBe(false);
      await restarted.terminate(cluster, first.id);
    } finally {
      await restarted.close();
    }
  });

  it('settles a node left booting by a controller that stopped: pending, then running, never started twice', async () => {
    const cluster = 'local-it-boot';
    const token = 'it-left-booting';
    const launcher = new LocalProvider({ baseDir, addressBlock: BLOCK });
    const [node] = await launcher.launch(launchRequest('worker', token, cluster));
    if (!node) throw new Error('no instance launched');
    expect(node.state).toBe('pending');
    // The launcher goes away at once: its wait for the first answer ends with it.
    await launcher.close();
    const recordFile = join(baseDir, 'state', cluster, `${node.id}.json`);
    const spawned = (JSON.parse(readFileSync(recordFile, 'utf8')) as { pids: { dockerd: number } }).pids.dockerd;
    const next = new LocalProvider({ baseDir, addressBlock: BLOCK });
    try {
      // A repeat of the launch (the journal resuming it) returns the node and starts nothing.
      expect((await next.launch(launchRequest('worker', token, cluster))).map((i) => [i.id, i.state === 'terminated'])).toEqual([
        [node.id, false],
      ]);
      await eventually(
        'the node listed as running',
        async () => (await next.list(cluster)).find((i) => i.id === node.id)?.state === 'running',
      );
      expect(JSON.parse(readFileSync(recordFile, 'utf8'))).toMatchObject({ phase: 'running', pids: { dockerd: spawned } });
      expect(pidIn(join(baseDir, 'n', node.id, 'd.pid'))).toBe(spawned);
      await next.terminate(cluster, node.id);
      expect(processesNaming(node.id)).toEqual([]);
    } finally {
      await next.close();
    }
  });

  it('terminates a node still booting: no process is left', async () => {
    const cluster = 'local-it-boot-term';
    const [node] = await provider.launch(launchRequest('manager', 'it-term-booting', cluster));
    if (!node) throw new Error('no instance launched');
    await provider.terminate(cluster, node.id);
    expect(processesNaming(node.id)).toEqual([]);
    expect(existsSync(join(baseDir, 'n', node.id))).toBe(false);
    expect(await provider.list(cluster)).toEqual([]);
  });

  it('terminates: no process, no mount, no directory, address released; a second terminate is a no-op', async () => {
    // A manager runs the most processes (dockerd, agent, etcd) and mounts.
    const cluster = 'local-it-term';
    const { manager } = await aManagerOf(cluster, 'local-it-term-m0');
    expect(processesNaming(manager.id)).not.toEqual([]);
    expect(existsSync(join(DEFAULT_POOL_DIR, manager.address!))).toBe(true);
    await provider.terminate(cluster, manager.id);
    expect(processesNaming(manager.id)).toEqual([]);
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(join(baseDir, 'n', manager.id));
    expect(existsSync(join(baseDir, 'n', manager.id))).toBe(false);
    expect(existsSync(join(DEFAULT_POOL_DIR, manager.address!))).toBe(false);
    await provider.terminate(cluster, manager.id);
    expect(await provider.list(cluster)).toEqual([]);
    // The token stays spent: a repeat launches nothing (the planner never reuses a token).
    expect(await provider.launch(launchRequest('manager', 'local-it-term-m0', cluster))).toEqual([]);
    expect(await provider.list(cluster)).toEqual([]);
  });
});
