// The journal and leader election against a real etcd: fenced writes, ordering,
// pruning, failover, and a deposed leader's writes refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Etcd3 } from 'etcd3';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';
import { Journal } from '../../src/store/journal.ts';
import { etcdFencedKv } from '../../src/store/fenced-kv.ts';
import { LeaderElection, type Leadership } from '../../src/store/election.ts';
import type { Step } from '../../src/plan/steps.ts';
import { isSwarmkeeperError } from '../../src/errors.ts';

let etcd: EtcdTestCluster;
const clients: Etcd3[] = [];
const elections: LeaderElection[] = [];

beforeAll(async () => {
  etcd = await startEtcdCluster({ size: 1 });
}, 60_000);

afterAll(async () => {
  await Promise.all(elections.map((e) => e.stop().catch(() => undefined)));
  for (const c of clients) c.close();
  await etcd?.stop();
});

function client(): Etcd3 {
  const c = etcd.client();
  clients.push(c);
  return c;
}

function election(prefix: string, identity: string, ttlSeconds = 2): LeaderElection {
  const e = new LeaderElection(client(), { prefix, identity, ttlSeconds, retryMs: 200 });
  elections.push(e);
  return e;
}

function elected(e: LeaderElection): Promise<Leadership> {
  return new Promise((resolve) => {
    if (e.leadership) resolve(e.leadership);
    else e.once('elected', resolve);
  });
}

const terminate = (id: string): Step => ({ kind: 'instance.terminate', instanceId: id, role: 'worker', reason: 'test', rule: 'converge' });

describe('operations journal', () => {
  it('keeps entries in order through their states and finds those in flight', async () => {
    const e = election('/j1', 'a');
    e.start();
    const { fence } = await elected(e);
    const journal = new Journal(etcdFencedKv(client()), { prefix: '/j1' });
    const first = await journal.record('c1', terminate('i-1'), { now: 1000, fence, leader: 'a' });
    const second = await journal.record('c1', terminate('i-2'), { now: 1000, fence, leader: 'a' });
    await journal.transition('c1', first, { state: 'running', attempts: 1 }, { now: 1001, fence });
    const all = await journal.list('c1');
    expect(all.map((x) => x.target)).toEqual(['i-1', 'i-2']);
    expect(all[0]).toMatchObject({ state: 'running', attempts: 1, leader: 'a', step: terminate('i-1') });
    await journal.transition('c1', second, { state: 'done', result: 'ok' }, { now: 1002, fence });
    expect((await journal.inFlight('c1')).map((x) => x.target)).toEqual(['i-1']);
    expect(await journal.list('other')).toEqual([]);
  });

  it('prunes the oldest finished entries only', async () => {
    const e = election('/j2', 'a');
    e.start();
    const { fence } = await elected(e);
    const journal = new Journal(etcdFencedKv(client()), { prefix: '/j2', keepFinished: 2 });
    const open = await journal.record('c', terminate('open'), { now: 1, fence });
    for (let i = 0; i < 4; i++) {
      const en = await journal.record('c', terminate(`i-${i}`), { now: 2 + i, fence });
      await journal.transition('c', en, { state: 'done' }, { now: 3 + i, fence });
    }
    expect(await journal.prune('c', fence)).toBe(2);
    expect((await journal.list('c')).map((x) => x.target)).toEqual([open.target, 'i-2', 'i-3']);
  });
});

describe('leader election', () => {
  it("elects one leader, fails over on resign, and refuses the deposed leader's writes", async () => {
    const a = election('/e1', 'a');
    const b = election('/e1', 'b');
    a.start();
    const la = await elected(a);
    b.start();
    // b must not be elected while a leads.
    await new Promise((r) => setTimeout(r, 500));
    expect(b.leadership).toBeUndefined();
    expect(await a.leader()).toBe('a');
    const journal = new Journal(etcdFencedKv(client()), { prefix: '/e1' });
    await journal.record('c', terminate('by-a'), { now: 1, fence: la.fence });

    await a.stop();
    expect(la.signal.aborted).toBe(true);
    const lb = await elected(b);
    expect(lb.fence.key).not.toBe(la.fence.key);
    const err = await journal.record('c', terminate('by-a-again'), { now: 2, fence: la.fence }).catch((x: unknown) => x);
    expect(isSwarmkeeperError(err, 'Conflict')).toBe(true);
    await journal.record('c', terminate('by-b'), { now: 3, fence: lb.fence });
    expect((await journal.list('c')).map((x) => x.target)).toEqual(['by-a', 'by-b']);
  }, 30_000);

  it('stops acting at once when its election key disappears, then campaigns again', async () => {
    const a = election('/e2', 'a');
    a.start();
    const first = await elected(a);
    const lost = new Promise<Error>((resolve) => a.once('lost', resolve));
    // What an expired lease looks like from the server side: the key is gone.
    await client().delete().key(first.fence.key);
    await lost;
    expect(first.signal.aborted).toBe(true);
    const again = await new Promise<Leadership>((resolve) => a.once('elected', resolve));
    expect(again.fence.key).not.toBe(first.fence.key);
  }, 30_000);
});
