// executeStep's ordering contract (a unit test): the provider is the sim's, the journal
// the real Journal on an in-memory management store (MemoryFencedKv, etcd's semantics:
// revisions, fenced writes). The real adapters run in test/integration/controller-*.
// The journal entry exists before anything runs, a refused precondition runs nothing, a
// satisfied one runs nothing and is done, an interrupted launch is issued again with its
// token, and every write is fenced by the leader's election key.
import { describe, expect, it, vi } from 'vitest';
import { executeStep, resumeEntry } from './execute-step.ts';
import type { ActDeps, PreconditionCheck } from './context.ts';
import { Journal } from '../store/journal.ts';
import { MemoryFencedKv } from '../store/memory-kv.ts';
import { clusterKeys } from '../store/keys.ts';
import { parseEndpoints } from '../protocol/cluster-endpoints.ts';
import type { Snapshot } from '../model/snapshot.ts';
import type { Step } from '../plan/steps.ts';
import type { LaunchRequest } from '../providers/provider.ts';
import { PeerClients } from '../observe/peer-clients.ts';
import { SimWorld, simPeerFactories, type FaultRates } from '../providers/sim/index.ts';
import { resolveSpec } from '../spec/defaults.ts';
import { silentLogger } from '../log.ts';
import { localAgentConfig } from '../controller/agent-config.ts';

const PREFIX = '/sk';
const spec = resolveSpec('c', 1, { managers: { count: 1 }, workers: { count: 1 }, provider: { local: {} } });
const launch: Step = {
  kind: 'instance.launch',
  role: 'worker',
  count: 1,
  clientToken: 'c-g1-w0',
  configHash: 'h',
  reason: 'scale',
  rule: 'converge',
};
const launchRequest: LaunchRequest = {
  spec,
  role: 'worker',
  count: 1,
  clientToken: 'c-g1-w0',
  configHash: 'h',
  agent: { cluster: 'c', role: 'worker', managementEtcd: { endpoints: ['http://127.0.0.1:2379'], prefix: PREFIX } },
};
const emptySnapshot: Snapshot = {
  observedAt: 0,
  instances: { status: 'ok', value: [] },
  swarm: { status: 'ok', value: { initialized: false, nodes: [] } },
  etcd: { status: 'ok', value: { members: [], alarms: [] } },
  marks: [],
  operations: [],
  controls: [],
};

function aWorld(verdict: ReturnType<PreconditionCheck>, faults: Partial<FaultRates> = {}) {
  const world = new SimWorld({ seed: 1, faults });
  const mgmt = new MemoryFencedKv();
  const fence = mgmt.elect(`${PREFIX}/leader`, 'c1');
  const journal = new Journal(mgmt, { prefix: PREFIX });
  // What the journal said at the moment the provider was asked to launch.
  const journalAtLaunch: string[][] = [];
  const simLaunch = world.provider.launch.bind(world.provider);
  const launchSpy = vi.spyOn(world.provider, 'launch').mockImplementation(async (req) => {
    journalAtLaunch.push((await journal.list('c')).map((e) => `${e.stepKind} ${e.state}`));
    return simLaunch(req);
  });
  const deps: ActDeps = {
    cluster: 'c',
    spec,
    provider: world.provider,
    peers: new PeerClients(simPeerFactories(world)),
    journal,
    mgmt,
    fence,
    leader: 'c1',
    prefix: PREFIX,
    observe: async () => emptySnapshot,
    checkPrecondition: () => verdict,
    agentConfig: localAgentConfig(['http://127.0.0.1:2379'], PREFIX),
    logger: silentLogger(),
    now: () => 1,
  };
  const instances = async () => world.provider.list('c');
  const entries = async () => (await journal.list('c')).map((e) => ({ kind: e.stepKind, state: e.state }));
  return { world, mgmt, fence, journal, deps, journalAtLaunch, launchSpy, instances, entries };
}

describe('executeStep', () => {
  it('journals the step before running it, then marks it running and done with the launched ids', async () => {
    const w = aWorld({ status: 'ok' });
    const out = await executeStep(launch, w.deps);
    expect(out.status).toBe('done');
    expect(w.journalAtLaunch).toEqual([['instance.launch running']]);
    const launched = await w.instances();
    expect(launched).toEqual([expect.objectContaining({ role: 'worker', clientToken: 'c-g1-w0', state: 'pending' })]);
    expect(out.entry).toMatchObject({ state: 'done', instanceIds: [launched[0]!.id], attempts: 1, leader: 'c1' });
    expect(await w.journal.list('c')).toEqual([out.entry]);
    expect(w.launchSpy.mock.calls[0]?.[0].agent).toEqual(launchRequest.agent);
  });

  it('runs nothing when the precondition is refused on the fresh observation', async () => {
    const w = aWorld({ status: 'refused', rule: 'R3-one-membership-change', reason: 'another change in flight' });
    const out = await executeStep(launch, w.deps);
    expect(out.status).toBe('skipped');
    expect(out.error?.code).toBe('Precondition');
    expect(w.launchSpy).not.toHaveBeenCalled();
    expect(await w.instances()).toEqual([]);
    expect(await w.entries()).toEqual([{ kind: 'instance.launch', state: 'failed' }]);
  });

  it('marks a step whose effect is already there done without running it', async () => {
    const w = aWorld({ status: 'satisfied', reason: 'instances with the token exist' });
    const out = await executeStep(launch, w.deps);
    expect(out).toMatchObject({ status: 'done', result: 'already satisfied: instances with the token exist' });
    expect(w.launchSpy).not.toHaveBeenCalled();
    expect(await w.instances()).toEqual([]);
    expect(await w.entries()).toEqual([{ kind: 'instance.launch', state: 'done' }]);
  });

  it('issues an interrupted launch again with the same token even when its instances are listed', async () => {
    const w = aWorld({ status: 'satisfied', reason: 'instances with the token exist' });
    // A controller died after the provider launched: its entry stays running.
    const recorded = await w.journal.record('c', launch, { now: 0, fence: w.fence, leader: 'dead' });
    const interrupted = await w.journal.transition('c', recorded, { state: 'running', attempts: 1 }, { now: 0, fence: w.fence });
    const first = await w.world.provider.launch(launchRequest);
    w.launchSpy.mockClear();

    const out = await resumeEntry(interrupted, w.deps);
    expect(out.status).toBe('done');
    expect(w.launchSpy.mock.calls.map(([req]) => req.clientToken)).toEqual(['c-g1-w0']);
    // The token made the repeat return the first call's instance: nothing new launched.
    expect((await w.instances()).map((i) => i.id)).toEqual(first.map((i) => i.id));
    expect(out.entry).toMatchObject({ id: interrupted.id, attempts: 2, state: 'done', instanceIds: first.map((i) => i.id) });
    expect(await w.entries()).toEqual([{ kind: 'instance.launch', state: 'done' }]);
  });

  it('records a failure and returns it instead of throwing', async () => {
    const w = aWorld({ status: 'ok' }, { launchFailure: 1 });
    const out = await executeStep(launch, w.deps);
    expect(out.status).toBe('failed');
    expect(out.entry).toMatchObject({ state: 'failed' });
    expect(out.error?.message).toContain('insufficient capacity');
    expect(await w.entries()).toEqual([{ kind: 'instance.launch', state: 'failed' }]);
  });

  it('does not start when leadership is already lost', async () => {
    const w = aWorld({ status: 'ok' });
    const abort = new AbortController();
    abort.abort(new Error('lost leadership'));
    await expect(executeStep(launch, { ...w.deps, signal: abort.signal })).rejects.toThrow('lost leadership');
    expect(w.launchSpy).not.toHaveBeenCalled();
    expect(await w.entries()).toEqual([]);
  });

  it('stops at its first journal write when deposed: nothing journalled, nothing launched', async () => {
    const w = aWorld({ status: 'ok' });
    w.mgmt.depose(w.fence);
    await expect(executeStep(launch, w.deps)).rejects.toThrow(/leadership lost/);
    expect(w.launchSpy).not.toHaveBeenCalled();
    expect(await w.instances()).toEqual([]);
    expect(await w.entries()).toEqual([]);
  });

  it('publishes the cluster endpoints in the management store, once', async () => {
    const w = aWorld({ status: 'ok' });
    const step: Step = {
      kind: 'cluster.publishEndpoints',
      clientURLs: ['http://127.9.0.2:2379', 'http://127.9.0.3:2379'],
      reason: 'managers changed',
      rule: 'converge',
    };
    const key = clusterKeys(PREFIX, 'c').endpoints;
    expect(await executeStep(step, w.deps)).toMatchObject({ status: 'done', result: 'published 2 endpoints' });
    const written = await w.mgmt.get(key);
    expect(parseEndpoints(written!, key).etcdClientURLs).toEqual(['http://127.9.0.2:2379', 'http://127.9.0.3:2379']);
    const revision = w.mgmt.modRevision(key);
    expect(await executeStep(step, w.deps)).toMatchObject({ status: 'done', result: 'endpoints unchanged' });
    expect(w.mgmt.modRevision(key)).toBe(revision);
  });

  it("releases a deleted cluster: every key under it leaves the management store, another cluster's stay", async () => {
    const w = aWorld({ status: 'ok' });
    const keys = clusterKeys(PREFIX, 'c');
    const other = clusterKeys(PREFIX, 'other').spec;
    await w.mgmt.write(
      [
        { kind: 'put', key: keys.spec, value: '{}' },
        { kind: 'put', key: other, value: '{}' },
      ],
      w.fence,
      'two specs',
    );
    const out = await executeStep({ kind: 'cluster.release', reason: 'deleted', rule: 'converge' }, w.deps);
    expect(out.status).toBe('done');
    expect(w.mgmt.scan(keys.base)).toEqual([]);
    expect(await w.mgmt.get(other)).toBe('{}');
  });
});
