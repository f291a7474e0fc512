// EtcdMarkStore against a real etcd: key layout, earliest `since` under concurrent
// writers, expiry (filtered by the caller's clock, deleted by etcd's lease), controls.
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdMarkStore } from '../../src/store/mark-store.ts';
import { clusterKeys } from '../../src/store/keys.ts';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';
import { until } from '../support/until.ts';

const PREFIX = '/sk-marks';
let etcd: EtcdTestCluster | undefined;
let client: Etcd3;
let store: EtcdMarkStore;

beforeAll(async () => {
  etcd = await startEtcdCluster({ size: 1 });
  client = etcd.client();
  store = new EtcdMarkStore(client, { prefix: PREFIX });
});
afterAll(async () => {
  client?.close();
  await etcd?.stop();
});

describe('EtcdMarkStore', () => {
  it('stores marks under <marks><instance>/<source> and keeps the earliest since', async () => {
    const now = Date.now();
    await store.putMark('c1', { instanceId: 'i-1', source: 'alert', reason: 'first', since: now - 5_000 });
    await store.putMark('c1', { instanceId: 'i-1', source: 'alert', reason: 'second', since: now - 1_000 });
    await store.putMark('c1', { instanceId: 'i-1', source: 'detector:swarm', reason: 'down', since: now - 2_000 });
    const marks = await store.listMarks('c1', now);
    expect(marks).toEqual([
      { instanceId: 'i-1', source: 'alert', reason: 'second', since: now - 5_000 },
      { instanceId: 'i-1', source: 'detector:swarm', reason: 'down', since: now - 2_000 },
    ]);
    const keys = Object.keys(await client.getAll().prefix(clusterKeys(PREFIX, 'c1').marks).strings()).sort();
    expect(keys).toEqual([`${PREFIX}/clusters/c1/marks/i-1/alert`, `${PREFIX}/clusters/c1/marks/i-1/detector:swarm`]);
    expect(await store.listMarks('c2', now)).toEqual([]);
  });

  it('keeps the earliest since when writers race', async () => {
    const now = Date.now();
    const sinces = Array.from({ length: 8 }, (_, i) => now - (i + 1) * 1_000);
    await Promise.all(sinces.map((since) => store.putMark('race', { instanceId: 'i-9', source: 'alert', reason: `r${since}`, since })));
    const [mark] = await store.listMarks('race', now);
    expect(mark?.since).toBe(Math.min(...sinces));
  });

  it('does not rewrite a mark that a repeat would not change (alert floods cost no writes)', async () => {
    const now = Date.now();
    const mark = { instanceId: 'i-10', source: 'alert' as const, reason: 'Alert X firing', since: now - 1_000, expiresAt: now + 900_000 };
    await store.putMark('flood', mark);
    const revision = async () => (await client.get('probe').exec()).header.revision;
    const before = await revision();
    for (let i = 0; i < 50; i++) await store.putMark('flood', { ...mark, since: now, expiresAt: now + 900_000 + i * 100 });
    expect(await revision()).toBe(before);
    await store.putMark('flood', { ...mark, expiresAt: now + 900_000 + 120_000 });
    expect(await revision()).not.toBe(before);
    expect((await store.listMarks('flood', now))[0]).toMatchObject({ since: now - 1_000, expiresAt: now + 1_020_000 });
  });

  it('does not list expired marks, and etcd deletes them by lease', async () => {
    const now = Date.now();
    await store.putMark('exp', { instanceId: 'i-2', source: 'alert', reason: 'short', since: now, expiresAt: now + 2_000 });
    expect(await store.listMarks('exp', now)).toHaveLength(1);
    expect(await store.listMarks('exp', now + 2_000)).toEqual([]);
    const key = `${clusterKeys(PREFIX, 'exp').marks}i-2/alert`;
    await until('etcd to delete the expired mark', async () => (await client.get(key).string()) === null);
  });

  it('clears one source and leaves the others', async () => {
    const now = Date.now();
    await store.putMark('clr', { instanceId: 'i-3', source: 'alert', reason: 'a', since: now });
    await store.putMark('clr', { instanceId: 'i-3', source: 'detector:etcd', reason: 'b', since: now });
    await store.clearMark('clr', 'i-3', 'alert');
    await store.clearMark('clr', 'i-3', 'alert');
    expect((await store.listMarks('clr', now)).map((m) => m.source)).toEqual(['detector:etcd']);
  });

  it('skips values that are not marks instead of failing the whole list', async () => {
    const now = Date.now();
    await client.put(`${clusterKeys(PREFIX, 'junk').marks}i-4/alert`).value('not json');
    await client
      .put(`${clusterKeys(PREFIX, 'junk').marks}i-5/alert`)
      .value(JSON.stringify({ instanceId: 'i-6', source: 'alert', reason: 'moved', since: now }));
    await store.putMark('junk', { instanceId: 'i-7', source: 'operator', reason: 'ok', since: now });
    expect((await store.listMarks('junk', now)).map((m) => m.instanceId)).toEqual(['i-7']);
  });

  it('refuses instance ids that would break the key layout', async () => {
    await expect(store.putMark('c1', { instanceId: '../x', source: 'alert', reason: 'r', since: 1 })).rejects.toThrow(/key segment/);
  });

  it('stores node controls', async () => {
    await store.putControl('ctl', { instanceId: 'i-8', skipRemediation: true });
    await store.putControl('ctl', { instanceId: 'i-1', markedForDeletion: true, remediations: 2 });
    expect(await store.listControls('ctl')).toEqual([
      { instanceId: 'i-1', markedForDeletion: true, remediations: 2 },
      { instanceId: 'i-8', skipRemediation: true },
    ]);
  });
});
