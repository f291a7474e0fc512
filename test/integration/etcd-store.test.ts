// EtcdClusterStore and spec intake against a real 3-member etcd cluster.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import { createEtcdClient } from '../../src/store/etcd-client.ts';
import { EtcdClusterStore } from '../../src/store/etcd-store.ts';
import { ingestSpec } from '../../src/store/spec-intake.ts';
import { clusterKeys } from '../../src/store/keys.ts';
import { getCondition } from '../../src/spec/conditions.ts';
import { isSwarmkeeperError } from '../../src/errors.ts';
import type { ClusterWatchEvent } from '../../src/store/port.ts';
import { aSwarmCluster, withField } from '../support/spec-fixtures.ts';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';
import { until } from '../support/until.ts';

let etcd: EtcdTestCluster;
let store: EtcdClusterStore;
const PREFIX = '/sk-store-test';

beforeAll(async () => {
  etcd = await startEtcdCluster({ size: 3 });
  store = new EtcdClusterStore(createEtcdClient(etcd.connection(PREFIX)), { prefix: PREFIX });
});
afterAll(async () => {
  await store?.close();
  await etcd?.stop();
});

async function headRevision(): Promise<string> {
  return (await store.client.kv.range({ key: Buffer.from('/'), limit: 1 })).header.revision;
}

describe('apply and get', () => {
  it('creates, leaves unchanged, configures, and counts generations', async () => {
    const doc = aSwarmCluster({ name: 'alpha' });
    const created = await store.apply(doc);
    expect(created.result).toBe('created');
    expect(created.cluster.metadata).toMatchObject({ name: 'alpha', generation: 1 });
    expect(created.cluster.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(created.cluster.metadata.creationTimestamp ?? '')).toBeGreaterThan(0);

    const rev = await headRevision();
    expect((await store.apply(doc)).result).toBe('unchanged');
    expect(await headRevision()).toBe(rev); // nothing written

    const scaled = await store.apply(withField(doc, 'spec.workers.count', 5));
    expect(scaled.result).toBe('configured');
    expect(scaled.cluster.metadata.generation).toBe(2);
    expect(scaled.cluster.metadata.uid).toBe(created.cluster.metadata.uid);

    const labelled = await store.apply(withField(withField(doc, 'spec.workers.count', 5), 'metadata.labels', { team: 'a' }));
    expect(labelled.result).toBe('configured');
    expect(labelled.cluster.metadata.generation).toBe(2); // metadata only: no new generation

    const got = await store.get('alpha');
    expect(got?.cluster.spec.workers.count).toBe(5);
    expect(got?.cluster.metadata.labels).toEqual({ team: 'a' });
    expect(got?.cluster.metadata.resourceVersion).toBe(got?.specRevision);
    expect(got?.specError).toBeUndefined();
    expect((await store.list()).map((c) => c.cluster.metadata.name)).toContain('alpha');
  });

  it('refuses an invalid document and writes nothing', async () => {
    const rev = await headRevision();
    await expect(store.apply(withField(aSwarmCluster({ name: 'bad' }), 'spec.managers.count', 2))).rejects.toThrow(
      /spec\.managers\.count: must be one of 1, 3, 5, 7/,
    );
    expect(await headRevision()).toBe(rev);
    expect(await store.get('bad')).toBeUndefined();
  });

  it('detects concurrent applies: exactly one of five racing writers wins', async () => {
    const base = await store.apply(aSwarmCluster({ name: 'race' }));
    const rv = base.cluster.metadata.resourceVersion;
    const results = await Promise.allSettled(
      [1, 2, 3, 4, 5].map((n) =>
        store.apply(withField(withField(aSwarmCluster({ name: 'race' }), 'spec.workers.count', 10 + n), 'metadata.resourceVersion', rv)),
      ),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(4);
    for (const l of lost) {
      expect(isSwarmkeeperError(l.reason, 'Conflict')).toBe(true);
      expect(String((l.reason as Error).message)).toMatch(/was changed by someone else/);
    }
    expect((await store.get('race'))?.cluster.metadata.generation).toBe(2);
  });

  it('deletes every key of a cluster', async () => {
    await store.apply(aSwarmCluster({ name: 'gone' }));
    await store.client.put(`${clusterKeys(PREFIX, 'gone').journal}op-1`).value('{}');
    expect(await store.delete('gone')).toBe(true);
    expect(await store.get('gone')).toBeUndefined();
    expect(await store.client.getAll().prefix(`${PREFIX}/clusters/gone/`).keys()).toEqual([]);
    expect(await store.delete('gone')).toBe(false);
  });

  it('records a deletion request once, shows it as metadata.deletionTimestamp, and keeps it through applies', async () => {
    expect(await store.requestDeletion('never-there')).toBeUndefined();
    await store.apply(aSwarmCluster({ name: 'doomed' }));
    const events: ClusterWatchEvent[] = [];
    const watcher = await store.watch((e) => events.push(e));
    try {
      const at = await store.requestDeletion('doomed');
      expect(Date.parse(at ?? '')).toBeGreaterThan(0);
      // The controller is woken by the request, not only by the next resync.
      await until('a put event for the deletion request', () => events.find((e) => e.name === 'doomed' && e.type === 'put'));
      expect(await store.requestDeletion('doomed')).toBe(at); // a repeat keeps the first time
      expect((await store.get('doomed'))?.cluster.metadata.deletionTimestamp).toBe(at);
      // An apply (even of `get -o yaml` output without the field) cannot undo a deletion.
      await store.apply(withField(aSwarmCluster({ name: 'doomed' }), 'spec.workers.count', 4));
      const after = await store.get('doomed');
      expect(after?.cluster.metadata.deletionTimestamp).toBe(at);
      expect(after?.cluster.spec.workers.count).toBe(4);
    } finally {
      await watcher.close();
    }
    expect(await store.delete('doomed')).toBe(true);
  });
});

describe('writeStatus', () => {
  it('writes under a leader fence and refuses once leadership moved', async () => {
    await store.apply(aSwarmCluster({ name: 'fenced' }));
    const electionKey = `${PREFIX}/election/leader-a`;
    await store.client.put(electionKey).value('a');
    const createRevision = (await store.client.kv.range({ key: Buffer.from(electionKey) })).kvs[0]?.create_revision ?? '';
    await store.writeStatus('fenced', { phase: 'Ready', observedGeneration: 1 }, { key: electionKey, createRevision });
    expect((await store.get('fenced'))?.status?.phase).toBe('Ready');

    await store.client.delete().key(electionKey);
    await store.client.put(electionKey).value('b'); // a new leader: same key, new create revision
    await expect(store.writeStatus('fenced', { phase: 'Degraded' }, { key: electionKey, createRevision })).rejects.toThrow(
      /leadership lost/,
    );
    expect((await store.get('fenced'))?.status?.phase).toBe('Ready');
  });
});

describe('spec intake', () => {
  it('keeps the last good spec when etcdctl puts an invalid one, and reports SpecValid=False', async () => {
    const first = await store.apply(aSwarmCluster({ name: 'intake' }));
    const specKey = clusterKeys(PREFIX, 'intake').spec;
    const etcdctl = (...args: string[]): string =>
      execFileSync('etcdctl', args, { env: { ...process.env, ...etcd.etcdctlEnv() }, encoding: 'utf8' });

    etcdctl(
      'put',
      specKey,
      'apiVersion: swarmkeeper.dev/v1alpha1\nkind: SwarmCluster\nmetadata: {name: intake}\nspec:\n  managers: {count: 4}\n  workers: {count: 1}\n  provider: {local: {}}\n',
    );
    const r = await ingestSpec(store, 'intake', Date.parse('2026-01-01T00:00:00Z'));
    expect(r).toMatchObject({ state: 'invalid', generation: 1 });
    const got = await store.get('intake');
    expect(got?.cluster.spec.managers.count).toBe(3); // last good in force
    expect(got?.cluster.metadata.generation).toBe(first.cluster.metadata.generation);
    expect(got?.specError).toMatch(/spec\.managers\.count: must be one of 1, 3, 5, 7/);
    const cond = getCondition(got?.status?.conditions, 'SpecValid');
    expect(cond).toMatchObject({ status: 'False', reason: 'SpecRejected' });
    expect(cond?.message).toMatch(/spec\.managers\.count.*generation 1 stays in force/s);

    etcdctl('put', specKey, 'not: [valid yaml');
    expect(await ingestSpec(store, 'intake', Date.now())).toMatchObject({ state: 'invalid' });
    expect(getCondition((await store.get('intake'))?.status?.conditions, 'SpecValid')?.message).toMatch(
      /YAML syntax error at line 1, column/,
    );

    etcdctl('put', specKey, JSON.stringify(withField(aSwarmCluster({ name: 'intake' }), 'spec.workers.count', 7)));
    expect(await ingestSpec(store, 'intake', Date.now())).toEqual({ state: 'promoted', generation: 2 });
    const after = await store.get('intake');
    expect(after?.cluster.spec.workers.count).toBe(7);
    expect(after?.cluster.metadata.uid).toBe(first.cluster.metadata.uid);
    expect(after?.specError).toBeUndefined();
    expect(getCondition(after?.status?.conditions, 'SpecValid')).toMatchObject({ status: 'True', reason: 'SpecAccepted' });
    expect(await ingestSpec(store, 'intake', Date.now())).toEqual({ state: 'unchanged', generation: 2 });
  });

  it('takes a first spec written by etcdctl alone', async () => {
    const specKey = clusterKeys(PREFIX, 'fresh').spec;
    execFileSync('etcdctl', ['put', specKey, JSON.stringify(aSwarmCluster({ name: 'fresh' }))], {
      env: { ...process.env, ...etcd.etcdctlEnv() },
    });
    expect(await ingestSpec(store, 'fresh', Date.now())).toEqual({ state: 'promoted', generation: 1 });
    expect((await store.get('fresh'))?.cluster.metadata.uid).toBeDefined();
  });
});

describe('watch', () => {
  it('delivers changes, and recovers after member restarts and compaction', async () => {
    // A client pinned to member 0, so its outage is certain to cut the watch stream.
    const logged: string[] = [];
    const logger = { warn: (_o: object, msg: string) => logged.push(msg), info: (_o: object, msg: string) => logged.push(msg) };
    const pinned = new EtcdClusterStore(createEtcdClient({ ...etcd.connection(PREFIX), endpoints: [etcd.endpoints[0] as string] }), {
      prefix: PREFIX,
      logger,
    });
    const events: ClusterWatchEvent[] = [];
    const watcher = await pinned.watch((e) => events.push(e));
    try {
      const seen = (name: string, type: ClusterWatchEvent['type']): Promise<ClusterWatchEvent> =>
        until(`${type} ${name}`, () => events.find((e) => e.name === name && e.type === type));
      expect(events.filter((e) => e.type === 'resync').length).toBeGreaterThan(0); // initial list

      await store.apply(aSwarmCluster({ name: 'w1' }));
      await seen('w1', 'put');

      // Restart of the member the watch is connected to: the stream reconnects.
      await etcd.restartMember(0);
      await store.apply(aSwarmCluster({ name: 'w2' }));
      await seen('w2', 'put');

      // Outage + writes + compaction while the watcher is cut off: it must re-list.
      await etcd.stopMember(0);
      await store.apply(aSwarmCluster({ name: 'w3' }));
      await store.apply(withField(aSwarmCluster({ name: 'w1' }), 'spec.workers.count', 9));
      const compactAt = await headRevision();
      await store.client.kv.compact({ revision: compactAt, physical: true });
      const before = events.length;
      await etcd.restartMember(0);
      await until(
        'resync for w3 after compaction',
        () => events.slice(before).find((e) => e.name === 'w3' && (e.type === 'resync' || e.type === 'put')),
        90_000,
      );
      expect(events.slice(before).some((e) => e.type === 'resync')).toBe(true);
      expect(logged).toContain('Spec watch cancelled; re-listing'); // the compaction path, not a lucky resume

      // And the new watch keeps delivering.
      await store.delete('w2');
      await seen('w2', 'delete');
      await store.apply(aSwarmCluster({ name: 'w4' }));
      await seen('w4', 'put');
    } finally {
      await watcher.close();
      await pinned.close();
    }
  });
});

describe('connections', () => {
  let secure: EtcdTestCluster;
  beforeAll(async () => {
    secure = await startEtcdCluster({ size: 1, tls: true, auth: { rootPassword: 'Sup3r-s3cret-pw' } });
  });
  afterAll(async () => secure?.stop());

  it('works over TLS with client certificates and username/password', async () => {
    const s = new EtcdClusterStore(createEtcdClient(secure.connection(PREFIX)), { prefix: PREFIX });
    try {
      expect((await s.apply(aSwarmCluster({ name: 'tls' }))).result).toBe('created');
      expect((await s.get('tls'))?.cluster.metadata.generation).toBe(1);
    } finally {
      await s.close();
    }
  });

  it('refuses a wrong password without printing it', async () => {
    const s = new EtcdClusterStore(createEtcdClient({ ...secure.connection(PREFIX), password: 'wrong-pw-123' }), { prefix: PREFIX });
    try {
      const err = await s.get('tls').then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toMatch(/authentication failed/);
      expect(err?.message).not.toContain('wrong-pw-123');
    } finally {
      await s.close();
    }
  });

  it('refuses clients that do not speak TLS', async () => {
    const c = new Etcd3({ hosts: secure.endpoints, dialTimeout: 2000 } as ConstructorParameters<typeof Etcd3>[0]);
    try {
      await expect(c.get('x').string()).rejects.toThrow();
    } finally {
      c.close();
    }
  });
});
