// The executor's learner add against a real etcd. When the node's agent is known to run
// (its swarm node is ready), the step returns once the learner has started, so the next
// cycle can promote it; a node not in the swarm yet (its agent may still be booting, for
// a minute on a cloud) is not waited for.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActDeps } from '../../src/act/context.ts';
import { runEtcdStep } from '../../src/act/etcd-steps.ts';
import { livePeerFactories } from '../../src/controller/live-peers.ts';
import { startEtcdProcess, type EtcdProcess } from '../../src/etcd/etcd-process.ts';
import { silentLogger } from '../../src/log.ts';
import type { EtcdMember, Snapshot, SwarmNode } from '../../src/model/snapshot.ts';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import { PeerClients } from '../../src/observe/peer-clients.ts';
import type { Step } from '../../src/plan/steps.ts';

const BLOCK = 33;

describe('etcd.addLearner step on a real etcd', () => {
  let dir: string;
  let founderAddress: string;
  const learnerAddresses: string[] = [];
  let founder: EtcdProcess;
  const learners: EtcdProcess[] = [];
  let peers: PeerClients;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sk-addl-'));
    founderAddress = reserveLoopback({ block: BLOCK });
    founder = await startEtcdProcess({
      name: 'm1',
      dataDir: join(dir, 'm1'),
      clientUrls: [`http://${founderAddress}:2379`],
      peerUrl: `http://${founderAddress}:2380`,
      initialCluster: `m1=http://${founderAddress}:2380`,
    });
    peers = new PeerClients(livePeerFactories());
  }, 60_000);

  afterAll(async () => {
    await peers?.close();
    for (const l of learners) await l.stop(5_000).catch(() => l.kill());
    await founder?.stop(5_000).catch(() => founder.kill());
    if (dir) rmSync(dir, { recursive: true, force: true });
    for (const a of [founderAddress, ...learnerAddresses]) if (a) releaseLoopback(a);
  }, 60_000);

  /** The learner add of `instanceId` at `address`, on a snapshot where its swarm node is `swarmState` (or absent). */
  async function addLearner(
    instanceId: string,
    address: string,
    swarmState: SwarmNode['state'] | undefined,
    deps: ActDeps,
  ): Promise<string> {
    const step: Step = { kind: 'etcd.addLearner', instanceId, peerURL: `http://${address}:2380`, rule: 'R6-replace-order', reason: 'test' };
    return runEtcdStep(step, snapshotWith(instanceId, swarmState), deps);
  }

  function learnerAddress(): string {
    const address = reserveLoopback({ block: BLOCK });
    learnerAddresses.push(address);
    return address;
  }

  /** The node's agent: starts etcd once the member list has its entry (agent-decide's later manager). */
  async function agentStartsLearner(instanceId: string, address: string): Promise<void> {
    const etcd = peers.etcd([`http://${founderAddress}:2379`]);
    const peerUrl = `http://${address}:2380`;
    for (;;) {
      const members = await etcd.listMembers();
      if (members.some((m) => m.peerURLs.includes(peerUrl))) {
        const initialCluster = members.map((m) => `${m.peerURLs.includes(peerUrl) ? instanceId : m.name}=${m.peerURLs[0]}`).join(',');
        learners.push(
          await startEtcdProcess({
            name: instanceId,
            dataDir: join(dir, instanceId),
            clientUrls: [`http://${address}:2379`],
            peerUrl,
            initialCluster,
            initialClusterState: 'existing',
            waitFor: 'listening',
          }),
        );
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  function snapshotWith(instanceId: string, swarmState: SwarmNode['state'] | undefined): Snapshot {
    const founderMember: EtcdMember = {
      id: '1',
      name: 'm1',
      peerURLs: [`http://${founderAddress}:2380`],
      clientURLs: [`http://${founderAddress}:2379`],
      isLearner: false,
      leader: true,
    };
    const nodes: SwarmNode[] =
      swarmState === undefined
        ? []
        : [
            {
              id: `node-${instanceId}`,
              role: 'worker',
              availability: 'active',
              state: swarmState,
              leader: false,
              instanceId,
              address: '',
              version: 1,
            },
          ];
    return {
      observedAt: Date.now(),
      instances: { status: 'ok', value: [] },
      swarm: { status: 'ok', value: { initialized: true, nodes } },
      etcd: { status: 'ok', value: { members: [founderMember], alarms: [] } },
      marks: [],
      operations: [],
      controls: [],
    };
  }

  /** The learner add reaches etcd through the snapshot's member URLs: it needs peers, timeouts and a logger. */
  function actDeps(timeouts: Partial<ActDeps['timeouts']> = {}): ActDeps {
    return { peers, logger: silentLogger(), timeouts } as Partial<ActDeps> as ActDeps;
  }

  it('returns once the learner started when its node runs an agent (its swarm node is ready)', async () => {
    const address = learnerAddress();
    const [result] = await Promise.all([addLearner('m2', address, 'ready', actDeps()), agentStartsLearner('m2', address)]);
    expect(result).toMatch(/^learner \d+ added, started$/);
    const members = await peers.etcd([`http://${founderAddress}:2379`]).listMembers();
    expect(members.find((m) => m.peerURLs.includes(`http://${address}:2380`))?.name).toBe('m2');
  }, 60_000);

  it('does not wait for a node that has not joined the swarm (its agent may still be booting)', async () => {
    // etcd holds one learner at a time: the previous one goes (a learner's removal needs no window).
    const etcd = peers.etcd([`http://${founderAddress}:2379`]);
    await learners.pop()?.stop(5_000);
    const previous = (await etcd.listMembers()).find((m) => m.isLearner);
    if (previous) await etcd.removeMember(previous.id);
    const address = learnerAddress();
    // Were the step to wait for this learner, which nobody starts, it would sit out the
    // minute given here and the test would time out.
    const result = await addLearner('m3', address, undefined, actDeps({ learnerStartMs: 60_000 }));
    expect(result).toMatch(/^learner \d+ added$/);
    const member = (await etcd.listMembers()).find((m) => m.peerURLs.includes(`http://${address}:2380`));
    expect(member).toMatchObject({ name: '', isLearner: true });
  }, 30_000);
});
