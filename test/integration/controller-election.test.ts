// Two controllers started at once on real processes; only the leader acts.
// Every operation in the journal was written by the one replica that was elected, the
// other never led and never wrote, and the cluster converged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import { startControllerHarness, type ControllerHarness } from '../support/controller-harness.ts';
import { startSwarmkeeperRun, type RunProcess } from '../support/swarmkeeper-run.ts';

const CLI = fileURLToPath(new URL('../../bin/swarmkeeper.js', import.meta.url));
const run = promisify(execFile);

const NAME = 'pair';

let h: ControllerHarness;

beforeAll(async () => {
  h = await startControllerHarness({ block: 214 });
}, 120_000);

afterAll(async () => {
  await h?.stop();
}, 180_000);

describe('controller replicas', () => {
  it('only the elected leader acts: its operations are the only ones in the journal', async () => {
    await h.apply(NAME, 1, 1);
    await Promise.all([h.startController('a'), h.startController('b')]);
    await h.waitConverged(NAME, 1, 1, 240_000);

    const elected = new Set(h.events.filter((e) => e.event.type === 'leadership' && e.event.leader).map((e) => e.identity));
    expect(elected.size).toBe(1);
    const leader = [...elected][0]!;
    const journal = await h.journalOf(NAME);
    expect(journal.length).toBeGreaterThan(0);
    expect(new Set(journal.map((e) => e.leader))).toEqual(new Set([leader]));
    // The follower did not even start a step.
    expect(h.events.filter((e) => e.identity !== leader && e.event.type === 'step')).toEqual([]);
  }, 300_000);

  it("swarmkeeper status shows the nodes, conditions and the leader's operations, as text and as JSON", async () => {
    const args = ['--etcd-endpoints', h.mgmt.endpoints.join(','), '--prefix', h.prefix, 'status', NAME];
    const json = JSON.parse((await run(process.execPath, [CLI, ...args, '-o', 'json'])).stdout) as {
      phase: string;
      nodes: { role: string; instanceId: string; address?: string; swarmState?: string; etcdMembership?: string; healthy: boolean }[];
      conditions: { type: string; status: string }[];
      operations: { step: string; state: string }[];
    };
    expect(json.phase).toBe('Ready');
    expect(json.nodes.map((n) => [n.role, n.swarmState, n.etcdMembership, n.healthy])).toEqual([
      ['manager', 'ready', 'voter (leader)', true],
      ['worker', 'ready', 'gateway', true],
    ]);
    expect(json.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(json.operations.some((o) => o.step === 'instance.launch' && o.state === 'done')).toBe(true);
    const text = (await run(process.execPath, [CLI, ...args])).stdout;
    expect(text).toContain(`Cluster ${NAME}: Ready`);
    for (const n of json.nodes) expect(text).toContain(n.instanceId);
    expect(text).toContain('RECENT OPERATIONS');
    const missing = await run(process.execPath, [
      CLI,
      '--etcd-endpoints',
      h.mgmt.endpoints.join(','),
      '--prefix',
      h.prefix,
      'status',
      'nope',
    ]).catch((e: { code: number; stderr: string }) => e);
    expect(missing).toMatchObject({ code: 1 });
    expect((missing as { stderr: string }).stderr).toContain('"nope" not found');
  }, 60_000);

  it('swarmkeeper run serves health and metrics as a follower and stops cleanly on SIGTERM', async () => {
    const address = reserveLoopback({ block: 214 });
    let proc: RunProcess | undefined;
    try {
      proc = await startSwarmkeeperRun({
        etcdEndpoints: h.mgmt.endpoints,
        prefix: h.prefix,
        listen: `${address}:0`,
        args: ['--identity', 'third'],
      });
      expect((await fetch(`${proc.baseUrl}/healthz`)).status).toBe(200);
      // Another controller leads: this replica says so.
      expect(await (await fetch(`${proc.baseUrl}/metrics`)).text()).toMatch(/^swarmkeeper_leader 0$/m);
      const child = proc.child;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(proc.stderr()).toContain('Stopped');
    } finally {
      proc?.stop();
      releaseLoopback(address);
    }
  }, 120_000);
});
