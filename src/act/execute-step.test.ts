// executeStep's ordering contract with in-memory ports (a unit test; the real adapters
// run in test/integration/controller-*): the journal entry exists before anything
// runs, a refused precondition runs nothing, a satisfied one runs nothing and is done,
// an interrupted launch is issued again with its token.
import { describe, expect, it } from 'vitest';
import { executeStep, resumeEntry } from './execute-step.ts';
import type { ActDeps, PreconditionCheck } from './context.ts';
import type { JournalEntry } from '../store/journal.ts';
import type { Snapshot } from '../model/snapshot.ts';
import type { Step } from '../plan/steps.ts';
import type { LaunchRequest, Provider } from '../providers/provider.ts';
import { PeerClients } from '../observe/peer-clients.ts';
import { resolveSpec } from '../spec/defaults.ts';
import { silentLogger } from '../log.ts';
import { localAgentConfig } from '../controller/agent-config.ts';

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
const emptySnapshot: Snapshot = {
  observedAt: 0,
  instances: { status: 'ok', value: [] },
  swarm: { status: 'ok', value: { initialized: false, nodes: [] } },
  etcd: { status: 'ok', value: { members: [], alarms: [] } },
  marks: [],
  operations: [],
  controls: [],
};

function aWorld(verdict: ReturnType<PreconditionCheck>) {
  const log: string[] = [];
  const entries = new Map<string, JournalEntry>();
  const launches: LaunchRequest[] = [];
  const provider: Provider = {
    name: 'local',
    list: async () => [],
    launch: async (req) => {
      log.push(`launch ${req.clientToken} (journal: ${[...entries.values()].map((e) => e.state).join(',')})`);
      launches.push(req);
      return [
        { id: 'i-1', role: req.role, state: 'pending', launchedAt: 0, configHash: req.configHash, clientToken: req.clientToken, tags: {} },
      ];
    },
    terminate: async () => undefined,
    dockerEndpoint: () => ({ socketPath: '/nonexistent' }),
    etcdClientUrl: () => 'http://127.0.0.1:1',
    close: async () => undefined,
  };
  const journal: ActDeps['journal'] = {
    record: async (_c, step, ctx) => {
      const e: JournalEntry = {
        id: `e${entries.size}`,
        stepKind: step.kind,
        target: 't',
        startedAt: ctx.now,
        updatedAt: ctx.now,
        state: 'pending',
        attempts: 0,
        step,
      };
      entries.set(e.id, e);
      log.push('record pending');
      return e;
    },
    transition: async (_c, e, patch) => {
      const next = { ...e, ...patch } as JournalEntry;
      entries.set(e.id, next);
      log.push(`transition ${patch.state}`);
      return next;
    },
  };
  const deps: ActDeps = {
    cluster: 'c',
    spec,
    provider,
    peers: new PeerClients({
      swarm: () => {
        throw new Error('unused');
      },
      etcd: () => {
        throw new Error('unused');
      },
    }),
    journal,
    mgmt: undefined as never,
    prefix: '/sk',
    observe: async () => emptySnapshot,
    checkPrecondition: () => verdict,
    agentConfig: localAgentConfig(['http://127.0.0.1:2379'], '/sk'),
    logger: silentLogger(),
    now: () => 1,
  };
  return { deps, log, entries, launches };
}

describe('executeStep', () => {
  it('journals the step before running it, then marks it running and done with the launched ids', async () => {
    const w = aWorld({ status: 'ok' });
    const out = await executeStep(launch, w.deps);
    expect(out.status).toBe('done');
    expect(w.log).toEqual(['record pending', 'transition running', 'launch c-g1-w0 (journal: running)', 'transition done']);
    expect(out.entry).toMatchObject({ state: 'done', instanceIds: ['i-1'], attempts: 1 });
    expect(w.launches[0]?.agent).toEqual({
      cluster: 'c',
      role: 'worker',
      managementEtcd: { endpoints: ['http://127.0.0.1:2379'], prefix: '/sk' },
    });
  });

  it('runs nothing when the precondition is refused on the fresh observation', async () => {
    const w = aWorld({ status: 'refused', rule: 'R3-one-membership-change', reason: 'another change in flight' });
    const out = await executeStep(launch, w.deps);
    expect(out.status).toBe('skipped');
    expect(out.error?.code).toBe('Precondition');
    expect(w.launches).toHaveLength(0);
    expect(w.log).toEqual(['record pending', 'transition failed']);
  });

  it('marks a step whose effect is already there done without running it', async () => {
    const w = aWorld({ status: 'satisfied', reason: 'instances with the token exist' });
    const out = await executeStep(launch, w.deps);
    expect(out).toMatchObject({ status: 'done', result: 'already satisfied: instances with the token exist' });
    expect(w.launches).toHaveLength(0);
  });

  it('issues an interrupted launch again with the same token even when its instances are listed', async () => {
    const w = aWorld({ status: 'satisfied', reason: 'instances with the token exist' });
    const interrupted: JournalEntry = {
      id: 'old',
      stepKind: 'instance.launch',
      target: 't',
      startedAt: 0,
      updatedAt: 0,
      state: 'running',
      attempts: 1,
      step: launch,
      leader: 'dead',
    };
    const out = await resumeEntry(interrupted, w.deps);
    expect(out.status).toBe('done');
    expect(w.launches.map((l) => l.clientToken)).toEqual(['c-g1-w0']);
    expect(out.entry).toMatchObject({ id: 'old', attempts: 2 });
  });

  it('records a failure and returns it instead of throwing', async () => {
    const w = aWorld({ status: 'ok' });
    const deps: ActDeps = { ...w.deps, provider: { ...w.deps.provider, launch: async () => Promise.reject(new Error('no capacity')) } };
    const out = await executeStep(launch, deps);
    expect(out.status).toBe('failed');
    expect(out.entry).toMatchObject({ state: 'failed' });
    expect(out.error?.message).toContain('no capacity');
  });

  it('does not start when leadership is already lost', async () => {
    const w = aWorld({ status: 'ok' });
    const abort = new AbortController();
    abort.abort(new Error('lost leadership'));
    await expect(executeStep(launch, { ...w.deps, signal: abort.signal })).rejects.toThrow('lost leadership');
    expect(w.log).toEqual([]);
  });
});
