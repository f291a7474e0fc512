// On real processes (local provider: dockerd + etcd + node agents):
// 1. kill -9 of one manager's processes (its node agent first, so nothing restarts
//    them, then dockerd and etcd: a dead machine): the manager is replaced, quorum is
//    kept throughout, the dead etcd member and swarm node are removed.
// 2. The controller PROCESS (`swarmkeeper run`) SIGKILLed in the middle of a manager
//    replacement: a new controller finishes the job without a second launch.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import { startControllerHarness, type ControllerHarness } from '../support/controller-harness.ts';
import { watchQuorum } from '../support/quorum-watcher.ts';
import type { WiredController } from '../../src/controller/wire.ts';
import type { Instance } from '../../src/model/snapshot.ts';
import { DockerSwarm } from '../../src/swarm/docker-swarm.ts';
import { dockerdPid } from '../../src/swarm/dockerd-process.ts';

const NAME = 'faults';
const CLI = fileURLToPath(new URL('../../bin/swarmkeeper.js', import.meta.url));

let h: ControllerHarness;
let inProcess: WiredController | undefined;
const children: ChildProcess[] = [];

beforeAll(async () => {
  h = await startControllerHarness({ block: 213 });
  inProcess = await h.startController('c1');
  await h.apply(NAME, 3, 1);
  await h.waitConverged(NAME, 3, 1, 240_000);
}, 300_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await h?.stop();
}, 180_000);

/** SIGKILLs the node's agent (so nothing restarts its children), then dockerd and etcd. */
function killMachine(inst: Instance): void {
  const nodeDir = inst.tags['swarmkeeper.local/node-dir']!;
  const pidOf = (file: string): number => Number.parseInt(readFileSync(file, 'utf8'), 10);
  const pids = [pidOf(join(nodeDir, 'agent.pid')), dockerdPid(nodeDir), pidOf(join(nodeDir, 'agent', 'etcd.pid'))];
  for (const pid of pids) {
    if (pid) process.kill(pid, 'SIGKILL');
  }
}

/** The etcd member id and swarm node id of `inst`, as the peers report them through `via`. */
async function idsOf(inst: Instance, via: Instance): Promise<{ memberIds: string[]; nodeIds: string[] }> {
  const etcd = new Etcd3({ hosts: `http://${via.address}:2379` });
  const swarm = new DockerSwarm(h.provider.dockerEndpoint(via));
  try {
    const members = (await etcd.cluster.memberList({})).members;
    const nodes = await swarm.listNodes();
    return {
      memberIds: members.filter((m) => m.peerURLs.includes(`http://${inst.address}:2380`)).map((m) => m.ID),
      nodeIds: nodes.filter((n) => n.instanceId === inst.id).map((n) => n.id),
    };
  } finally {
    etcd.close();
    await swarm.close();
  }
}

/** All member ids and node ids the peers list now. */
async function allIds(via: Instance): Promise<{ memberIds: string[]; nodeIds: string[] }> {
  const etcd = new Etcd3({ hosts: `http://${via.address}:2379` });
  const swarm = new DockerSwarm(h.provider.dockerEndpoint(via));
  try {
    return { memberIds: (await etcd.cluster.memberList({})).members.map((m) => m.ID), nodeIds: (await swarm.listNodes()).map((n) => n.id) };
  } finally {
    etcd.close();
    await swarm.close();
  }
}

async function managers(): Promise<Instance[]> {
  return (await h.instances(NAME)).filter((i) => i.role === 'manager');
}

describe('controller on real processes: faults', () => {
  it('replaces a manager whose agent, dockerd and etcd were kill -9ed, keeping quorum, removing its member and node', async () => {
    const before = await managers();
    const victim = before[1]!;
    const dead = await idsOf(victim, before[0]!);
    expect(dead.memberIds).toHaveLength(1);
    expect(dead.nodeIds).toHaveLength(1);
    const watcher = watchQuorum(h.provider, NAME);
    killMachine(victim);
    await h.waitFor('the dead manager to be gone', async () => !(await h.instances(NAME)).some((i) => i.id === victim.id), 240_000);
    await h.waitConverged(NAME, 3, 1, 240_000);
    const report = await watcher.stop();
    console.info(`quorum watcher (kill -9): ${JSON.stringify(report)}`);
    const after = await managers();
    expect(after.map((i) => i.id)).not.toContain(victim.id);
    expect(after).toHaveLength(3);
    // The replacement may reuse the dead node's loopback address: compare ids, not URLs.
    const live = await allIds(after[0]!);
    expect(live.memberIds).toHaveLength(3);
    expect(live.memberIds).not.toContain(dead.memberIds[0]);
    expect(live.nodeIds).toHaveLength(4);
    expect(live.nodeIds).not.toContain(dead.nodeIds[0]);
    expect(report.longestEtcdGapMs, `etcd gaps: ${JSON.stringify(report.etcdGaps)}`).toBeLessThan(3000);
    expect(report.longestSwarmGapMs).toBeLessThan(3000);
  }, 500_000);

  it('a new controller finishes a manager replacement the killed controller process started, without a second launch', async () => {
    // Hand the cluster to a controller process we can SIGKILL.
    await h.stopController(inProcess!);
    inProcess = undefined;
    const proc = spawn(
      process.execPath,
      [
        CLI,
        '--etcd-endpoints',
        h.mgmt.endpoints.join(','),
        '--prefix',
        h.prefix,
        '--log-level',
        'warn',
        'run',
        '--identity',
        'doomed',
        '--resync-seconds',
        '5',
      ],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    children.push(proc);
    const launchesBefore = (await h.journalOf(NAME)).filter((e) => e.stepKind === 'instance.launch').map((e) => e.id);
    const victim = (await managers())[0]!;
    killMachine(victim);
    // Kill the controller mid-replacement: its replacement launch is done (journaled with
    // the instance it produced) and the new manager is not an etcd voter yet.
    // (A kill inside the provider's launch call is not covered here: the local provider
    // does not finish an instance its interrupted launch left half-started; see the note.)
    const launch = await h.waitFor(
      'the replacement launch done in the journal',
      async () =>
        (await h.journalOf(NAME)).find(
          (e) => e.stepKind === 'instance.launch' && !launchesBefore.includes(e.id) && e.leader === 'doomed' && e.state === 'done',
        ),
      240_000,
    );
    proc.kill('SIGKILL');
    await new Promise((r) => proc.once('exit', r));

    const successor = await h.startController('successor');
    await h.waitConverged(NAME, 3, 1, 300_000);
    const launches = (await h.journalOf(NAME)).filter((e) => e.stepKind === 'instance.launch' && !launchesBefore.includes(e.id));
    // One launch intent (the doomed controller's, maybe finished by the successor), never a second.
    expect(new Set(launches.map((e) => e.target))).toEqual(new Set([launch.target]));
    const ids = new Set(launches.flatMap((e) => e.instanceIds ?? []));
    expect(ids.size).toBe(1);
    const now = await managers();
    expect(now).toHaveLength(3);
    expect(now.map((i) => i.id)).not.toContain(victim.id);
    expect(now.map((i) => i.id)).toContain([...ids][0]);
    await h.stopController(successor);
  }, 600_000);
});
