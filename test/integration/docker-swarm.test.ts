// DockerSwarm against a real swarm of 3 managers + 2 workers (one dockerd per node on
// 127.30.x.y), plus one spare dockerd that is not part of it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSwarmkeeperError } from '../../src/errors.ts';
import type { SwarmNode } from '../../src/model/snapshot.ts';
import { DockerSwarm } from '../../src/swarm/docker-swarm.ts';
import { startSwarm, type TestDockerNode, type TestSwarm } from '../support/dockerd.ts';
import { until } from '../support/until.ts';
import { codeOf } from '../support/error-codes.ts';

let swarm: TestSwarm;

beforeAll(async () => {
  swarm = await startSwarm({ managers: 3, workers: 2 });
}, 180_000);

afterAll(async () => {
  await swarm?.cleanup();
}, 120_000);

/** The current leader's API (the leader can move between tests). */
async function leaderApi(): Promise<DockerSwarm> {
  for (const m of swarm.managers) {
    const nodes = await m.api.listNodes().catch(() => undefined);
    const leader = nodes?.find((n) => n.leader);
    const node = leader && swarm.nodes.find((x) => x.instanceId === leader.instanceId);
    if (node) return node.api;
  }
  throw new Error('no manager knows a leader');
}

async function nodeOf(api: DockerSwarm, t: TestDockerNode): Promise<SwarmNode> {
  const n = (await api.listNodes()).find((x) => x.instanceId === t.instanceId);
  if (!n) throw new Error(`node of ${t.instanceId} not listed`);
  return n;
}

describe('DockerSwarm on a real 3-manager + 2-worker swarm', () => {
  it('lists every node with its instance label, observed role, address, leader and reachability', async () => {
    const api = swarm.managers[0]!.api;
    const nodes = await until('all 5 nodes ready and managers reachable', async () => {
      const ns = await api.listNodes();
      const ok = ns.length === 5 && ns.every((n) => n.state === 'ready' && (n.role === 'worker' || n.reachability === 'reachable'));
      return ok ? ns : undefined;
    });
    for (const t of swarm.nodes) {
      const n = nodes.find((x) => x.instanceId === t.instanceId);
      expect(n, t.instanceId).toBeDefined();
      expect(n!.role).toBe(t.role);
      expect(n!.desiredRole).toBe(t.role);
      // Workers' Status.Addr is the connection's source address, 127.0.0.1 on loopback.
      if (t.role === 'manager') expect(n!.address).toBe(t.address);
      expect(n!.availability).toBe('active');
      expect(n!.version).toBeGreaterThan(0);
    }
    expect(nodes.filter((n) => n.leader)).toHaveLength(1);
    expect(nodes.filter((n) => n.role === 'worker').every((n) => n.reachability === undefined && !n.leader)).toBe(true);
  });

  it('reports engine info: managers have control, workers do not', async () => {
    const m = await swarm.managers[1]!.api.info();
    const w = await swarm.workers[0]!.api.info();
    expect(m).toMatchObject({ localNodeState: 'active', isManager: true });
    expect(w).toMatchObject({ localNodeState: 'active', isManager: false });
    expect(m.clusterId).toMatch(/\S/);
    // A worker's engine may not report the cluster id; when it does, it is the managers' one.
    expect([undefined, m.clusterId]).toContain(w.clusterId);
    expect(m.nodeId).toBe((await nodeOf(swarm.managers[0]!.api, swarm.managers[1]!)).id);
  });

  it('reads the join tokens from a manager; a worker cannot (Unavailable)', async () => {
    const tokens = await swarm.managers[0]!.api.joinTokens();
    expect(tokens.worker).toMatch(/^SWMTKN-1-/);
    expect(tokens.manager).toMatch(/^SWMTKN-1-/);
    expect(tokens.worker).not.toBe(tokens.manager);
    expect(await codeOf(swarm.workers[0]!.api.joinTokens())).toBe('Unavailable');
    expect(await codeOf(swarm.workers[0]!.api.listNodes())).toBe('Unavailable');
  });

  it('drains and re-activates a worker, retrying once on a stale version index', async () => {
    const api = await leaderApi();
    const w = swarm.workers[0]!;
    const before = await nodeOf(api, w);
    expect(await api.runningTasks(before.id)).toBe(0);
    await api.setAvailability(before.id, before.version, 'drain');
    const drained = await nodeOf(api, w);
    expect(drained.availability).toBe('drain');
    expect(drained.version).toBeGreaterThan(before.version);
    // `before.version` is stale now: the adapter re-reads and retries once.
    await api.setAvailability(before.id, before.version, 'active');
    expect((await nodeOf(api, w)).availability).toBe('active');
    // Asking for the value the node already has is a no-op, whatever the version.
    await api.setAvailability(before.id, 1, 'active');
  });

  it('demotes a manager and returns only once the worker role is observed; promotes a worker', async () => {
    const api = await leaderApi();
    const nodes = await api.listNodes();
    const victim = nodes.find((n) => n.role === 'manager' && !n.leader && n.instanceId !== swarm.managers[0]!.instanceId)!;
    await api.setRole(victim.id, victim.version, 'worker');
    const after = (await api.listNodes()).find((n) => n.id === victim.id)!;
    expect(after.role).toBe('worker');
    expect(after.desiredRole).toBe('worker');
    expect((await api.listNodes()).filter((n) => n.role === 'manager')).toHaveLength(2);

    // Promote a worker that never was a manager (re-promoting the node just demoted takes
    // swarm about 30 s here; a fresh worker about 0.7 s).
    const w = await nodeOf(api, swarm.workers[0]!);
    await api.setRole(w.id, w.version, 'manager');
    const promoted = await until('promoted worker reachable in the manager raft', async () => {
      const n = (await api.listNodes()).find((x) => x.id === w.id);
      return n?.role === 'manager' && n.reachability === 'reachable' ? n : undefined;
    });
    expect(promoted.desiredRole).toBe('manager');
    expect((await api.listNodes()).filter((n) => n.role === 'manager')).toHaveLength(3);
  });

  it('sorts errors: unknown node NotFound, removing a live manager Conflict, leaving as a manager Conflict, init twice Conflict', async () => {
    const api = await leaderApi();
    expect(await codeOf(api.removeNode('no-such-node-id', false))).toBe('NotFound');
    expect(await codeOf(api.setAvailability('no-such-node-id', 1, 'drain'))).toBe('NotFound');
    const someManager = (await api.listNodes()).find((n) => n.role === 'manager')!;
    expect(await codeOf(api.removeNode(someManager.id, false))).toBe('Conflict');
    expect(await codeOf(swarm.managers[0]!.api.leave(false))).toBe('Conflict');
    const m = swarm.managers[0]!;
    expect(await codeOf(m.api.init(`${m.address}:2377`, m.address))).toBe('Conflict');
    const gone = new DockerSwarm({ socketPath: '/tmp/sk-no-such-dir/d.sock' });
    expect(await codeOf(gone.listNodes())).toBe('Unavailable');
    await gone.close();
  });

  it('never puts a join token into an error message', async () => {
    const spare = await swarm.addNode('worker');
    const real = (await swarm.managers[0]!.api.joinTokens()).worker;
    // A well-formed token of another swarm: dockerd names it in its refusal.
    const foreign = real.replace(/-([0-9a-z]{25})$/, '-abcdefghijklmnopqrstuvwxy');
    for (const token of [foreign, 'SWMTKN-1-garbage-token-value', 'not-even-a-swarm-token-secret']) {
      const err = await spare.api.join([`${swarm.managers[0]!.address}:2377`], token, `${spare.address}:2377`, spare.address).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isSwarmkeeperError(err, 'Unauthorized'), String(err)).toBe(true);
      const text = `${String(err)} ${String((err as Error).cause)} ${JSON.stringify((err as { details?: unknown }).details)}`;
      expect(text).not.toContain(token);
      expect(text).not.toContain(real);
    }
  });

  it('removes a worker that left: refused while it is up without force, done once it is down', async () => {
    const api = await leaderApi();
    const w = swarm.workers[1]!;
    const node = await nodeOf(api, w);
    expect(await codeOf(api.removeNode(node.id, false))).toBe('Conflict');
    await w.api.leave(false);
    expect((await w.api.info()).localNodeState).toBe('inactive');
    await until('left worker seen down', async () => ((await nodeOf(api, w)).state === 'down' ? true : undefined));
    await api.removeNode(node.id, false);
    expect((await api.listNodes()).some((n) => n.id === node.id)).toBe(false);
    expect(await codeOf(api.removeNode(node.id, false))).toBe('NotFound');
  });
});
