// One contract for the management store's ports, run against the etcd-backed
// implementation (test/integration/management-contract-etcd.test.ts, a real etcd) and the
// in-memory one the simulator uses (src/store/memory-contract.test.ts). What the reconcile
// cycle relies on: plain and prefix reads, atomic writes fenced by leadership (a deposed
// leader writes nothing), the journal on top of them, and the ClusterStore's documents.
import { describe, expect, it } from 'vitest';
import type { FencedKv } from '../../src/store/fenced-kv.ts';
import { Journal } from '../../src/store/journal.ts';
import type { ClusterStore, LeaderFence } from '../../src/store/port.ts';
import type { Step } from '../../src/plan/steps.ts';
import { aSwarmCluster } from './spec-fixtures.ts';
import { codeOf } from './error-codes.ts';

export interface ManagementBackend {
  readonly kv: FencedKv;
  /** A ClusterStore whose keys live under `prefix`, on the same backend as kv. */
  store(prefix: string): ClusterStore;
  /** Takes leadership under `key`: the fence holds until depose(). */
  elect(key: string, identity: string): Promise<LeaderFence>;
  depose(fence: LeaderFence): Promise<void>;
}

const terminate = (id: string): Step => ({ kind: 'instance.terminate', instanceId: id, role: 'worker', reason: 'test', rule: 'converge' });

export function managementContract(name: string, backend: () => ManagementBackend): void {
  let n = 0;
  const prefix = (): string => `/contract-${Date.now().toString(36)}-${++n}`;

  describe(`${name}: fenced key-value port`, () => {
    it('reads what was written, nothing for a missing key, and a prefix in key order', async () => {
      const { kv } = backend();
      const p = prefix();
      expect(await kv.get(`${p}/missing`)).toBeUndefined();
      await kv.write(
        [
          { kind: 'put', key: `${p}/b`, value: '2' },
          { kind: 'put', key: `${p}/a`, value: '1' },
          { kind: 'put', key: `${p}x/c`, value: '3' },
        ],
        undefined,
        'writing',
      );
      expect(await kv.get(`${p}/a`)).toBe('1');
      expect(await kv.getPrefix(`${p}/`)).toEqual([
        [`${p}/a`, '1'],
        [`${p}/b`, '2'],
      ]);
    });

    it('deletes every key under a prefix and nothing beside it', async () => {
      const { kv } = backend();
      const p = prefix();
      await kv.write(
        [
          { kind: 'put', key: `${p}/a`, value: '1' },
          { kind: 'put', key: `${p}/d/b`, value: '2' },
          { kind: 'put', key: `${p}x`, value: '3' },
        ],
        undefined,
        'writing',
      );
      await kv.write([{ kind: 'deletePrefix', key: `${p}/` }], undefined, 'deleting');
      expect(await kv.getPrefix(`${p}/`)).toEqual([]);
      expect(await kv.get(`${p}x`)).toBe('3');
    });

    it('writes under a fence only while its leadership holds, and a refused write changes nothing', async () => {
      const b = backend();
      const p = prefix();
      const fence = await b.elect(`${p}/leader`, 'a');
      await b.kv.write([{ kind: 'put', key: `${p}/k`, value: 'v1' }], fence, 'writing');
      await b.depose(fence);
      expect(
        await codeOf(
          b.kv.write(
            [
              { kind: 'put', key: `${p}/k`, value: 'v2' },
              { kind: 'delete', key: `${p}/j` },
            ],
            fence,
            'writing',
          ),
        ),
      ).toBe('Conflict');
      expect(await b.kv.get(`${p}/k`)).toBe('v1');
      // The key taken again (a new leader) is a new revision: the old fence stays refused.
      const next = await b.elect(`${p}/leader`, 'b');
      expect(await codeOf(b.kv.write([{ kind: 'put', key: `${p}/k`, value: 'v3' }], fence, 'writing'))).toBe('Conflict');
      await b.kv.write([{ kind: 'delete', key: `${p}/k` }], next, 'deleting');
      expect(await b.kv.get(`${p}/k`)).toBeUndefined();
    });

    it('writes under a guard only while the guarded key holds the value read (absent: still absent)', async () => {
      const b = backend();
      const p = prefix();
      await b.kv.write([{ kind: 'put', key: `${p}/r`, value: 'one' }], undefined, 'writing', { key: `${p}/r`, value: undefined });
      const refused = await b.kv
        .write([{ kind: 'put', key: `${p}/r`, value: 'two' }], undefined, 'writing', { key: `${p}/r`, value: undefined })
        .then(
          () => undefined,
          (err: unknown) => err as { code?: string; details?: Record<string, unknown> },
        );
      expect(refused).toMatchObject({ code: 'Conflict', details: { guardKey: `${p}/r` } });
      expect(await b.kv.get(`${p}/r`)).toBe('one');
      // With a fence as well: both must hold.
      const fence = await b.elect(`${p}/leader`, 'a');
      await b.kv.write([{ kind: 'put', key: `${p}/r`, value: 'two' }], fence, 'writing', { key: `${p}/r`, value: 'one' });
      expect(
        await codeOf(b.kv.write([{ kind: 'put', key: `${p}/r`, value: 'three' }], fence, 'writing', { key: `${p}/r`, value: 'one' })),
      ).toBe('Conflict');
      expect(await b.kv.get(`${p}/r`)).toBe('two');
    });

    it('refuses a write that names one key twice, and writes none of it', async () => {
      const { kv } = backend();
      const p = prefix();
      expect(
        await codeOf(
          kv.write(
            [
              { kind: 'put', key: `${p}/a`, value: '1' },
              { kind: 'delete', key: `${p}/a` },
            ],
            undefined,
            'writing',
          ),
        ),
      ).not.toBe('resolved');
      expect(await kv.get(`${p}/a`)).toBeUndefined();
    });
  });

  describe(`${name}: operations journal`, () => {
    it('keeps entries in order through their states, lists those in flight, prunes finished ones', async () => {
      const b = backend();
      const p = prefix();
      const fence = await b.elect(`${p}/leader`, 'a');
      const journal = new Journal(b.kv, { prefix: p, keepFinished: 1 });
      const first = await journal.record('c', terminate('i-1'), { now: 1, fence, leader: 'a' });
      const second = await journal.record('c', terminate('i-2'), { now: 2, fence, leader: 'a' });
      await journal.transition('c', first, { state: 'done', result: 'ok' }, { now: 3, fence });
      expect((await journal.list('c')).map((e) => [e.target, e.state])).toEqual([
        ['i-1', 'done'],
        ['i-2', 'pending'],
      ]);
      expect((await journal.inFlight('c')).map((e) => e.id)).toEqual([second.id]);
      await journal.transition('c', second, { state: 'failed', error: 'x' }, { now: 4, fence });
      expect(await journal.prune('c', fence)).toBe(1);
      expect((await journal.list('c')).map((e) => e.target)).toEqual(['i-2']);
    });

    it("refuses a deposed leader's entry and writes nothing", async () => {
      const b = backend();
      const p = prefix();
      const fence = await b.elect(`${p}/leader`, 'a');
      const journal = new Journal(b.kv, { prefix: p });
      await b.depose(fence);
      expect(await codeOf(journal.record('c', terminate('i-1'), { now: 1, fence }))).toBe('Conflict');
      expect(await journal.list('c')).toEqual([]);
    });
  });

  describe(`${name}: cluster store`, () => {
    it('applies, reports unchanged and configured with the generation, lists and deletes', async () => {
      const store = backend().store(prefix());
      const first = await store.apply(aSwarmCluster({ name: 'alpha' }));
      expect([first.result, first.cluster.metadata.generation]).toEqual(['created', 1]);
      expect((await store.apply(aSwarmCluster({ name: 'alpha' }))).result).toBe('unchanged');
      const grown = await store.apply(aSwarmCluster({ name: 'alpha', spec: { workers: { count: 5 } } }));
      expect([grown.result, grown.cluster.metadata.generation]).toEqual(['configured', 2]);
      expect(
        await codeOf(store.apply(aSwarmCluster({ name: 'alpha' }), { expectedRevision: first.cluster.metadata.resourceVersion })),
      ).toBe('Conflict');
      expect(await codeOf(store.apply({ kind: 'SwarmCluster' }))).toBe('SpecInvalid');
      await store.apply(aSwarmCluster({ name: 'beta' }));
      expect((await store.list()).map((c) => c.cluster.metadata.name)).toEqual(['alpha', 'beta']);
      expect((await store.get('alpha'))?.cluster.spec.workers.count).toBe(5);
      expect(await store.delete('alpha')).toBe(true);
      expect(await store.get('alpha')).toBeUndefined();
      expect(await store.delete('alpha')).toBe(false);
    });

    it('writes status under the fence only while leadership holds', async () => {
      const b = backend();
      const p = prefix();
      const store = b.store(p);
      await store.apply(aSwarmCluster({ name: 'alpha' }));
      const fence = await b.elect(`${p}/leader`, 'a');
      await store.writeStatus('alpha', { phase: 'Ready', observedGeneration: 1 }, fence);
      await b.depose(fence);
      expect(await codeOf(store.writeStatus('alpha', { phase: 'Degraded', observedGeneration: 1 }, fence))).toBe('Conflict');
      expect((await store.get('alpha'))?.status).toMatchObject({ phase: 'Ready' });
    });
  });
}
