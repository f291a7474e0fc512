// takeBackup() against a real etcd: the snapshot streamed from the member holds every key
// written before it (proved by `etcdctl snapshot restore` and an etcd started from the
// restored dir), the backup is recorded for the planner (keys.backup), pruned to the
// retention, and a damaged snapshot is refused by etcd's own hash before any restore.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBackups, readBackup } from '../../src/backup/backup-catalog.ts';
import { readBackupRecord } from '../../src/backup/backup-record.ts';
import { DirectoryStore } from '../../src/backup/directory-store.ts';
import { restoreEtcdSnapshot, verifyEtcdSnapshot } from '../../src/etcd/etcd-restore.ts';
import { takeBackup } from '../../src/backup/take-backup.ts';
import { startEtcdProcess } from '../../src/etcd/etcd-process.ts';
import { silentLogger } from '../../src/log.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';
import { resolveSpec } from '../../src/spec/defaults.ts';
import { etcdFencedKv } from '../../src/store/fenced-kv.ts';
import { reserveLoopback, releaseLoopback } from '../../src/net/loopback-pool.ts';
import { Etcd3 } from 'etcd3';
import { etcdOnlySnapshot } from '../support/backup-fixtures.ts';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';

let etcd: EtcdTestCluster;
let dir: string;

beforeAll(async () => {
  etcd = await startEtcdCluster({ size: 1 });
  dir = mkdtempSync(join(tmpdir(), 'sk-bke-'));
}, 60_000);
afterAll(async () => {
  await etcd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const observed = (): Snapshot => etcdOnlySnapshot(etcd.members[0]);

describe('takeBackup on a real etcd', () => {
  it('snapshots every key, records the backup, and the snapshot restores into a working etcd', async () => {
    const client = etcd.client();
    for (let i = 0; i < 50; i++) await client.put(`/app/key-${i}`).value(`value-${i}`);
    const store = new DirectoryStore(join(dir, 'backups'));
    const spec = resolveSpec('prod', 1, {
      managers: { count: 1 },
      workers: { count: 0 },
      provider: { local: {} },
      backup: { retention: { count: 2 } },
    });
    const mgmt = etcdFencedKv(client);
    const names: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await takeBackup({
        spec,
        purpose: 'manual',
        membership: 'etcd:1V;swarm:?',
        snapshot: observed(),
        dockerEndpoint: () => ({ socketPath: '/nonexistent' }),
        mgmt,
        prefix: '/sk-test',
        now: () => Date.now() + i * 1000,
        logger: silentLogger(),
        store,
      });
      names.push(m.name);
      expect(m.swarm?.error).toMatch(/no swarm manager answered/);
    }
    // Retention count 2: the oldest went.
    expect((await listBackups(store, 'prod')).backups.map((b) => b.name)).toEqual([names[2], names[1]]);
    const record = await readBackupRecord(mgmt, '/sk-test', 'prod');
    expect(record?.newest?.name).toBe(names[2]);
    expect(record?.newest?.etcdRevision).toBeGreaterThan(50);

    const { artifacts } = await readBackup(store, 'prod', names[2] ?? '');
    const snap = artifacts.get('etcd.db') as Buffer;
    await verifyEtcdSnapshot(snap);
    const address = reserveLoopback({ block: 21 });
    const peerUrl = `http://${address}:2380`;
    const dataDir = join(dir, 'restored');
    await restoreEtcdSnapshot(snap, { name: 'restored', peerUrl, dataDir, clusterToken: 'restored' });
    const proc = await startEtcdProcess({ name: 'restored', dataDir, clientUrls: [`http://${address}:2379`], peerUrl });
    const restored = new Etcd3({ hosts: [`http://${address}:2379`] });
    try {
      const kv = await restored.getAll().prefix('/app/').strings();
      expect(Object.keys(kv)).toHaveLength(50);
      expect(kv['/app/key-49']).toBe('value-49');
    } finally {
      restored.close();
      await proc.stop();
      releaseLoopback(address);
    }
    client.close();
  }, 90_000);

  it('a damaged snapshot is refused by its own hash before anything starts from it', async () => {
    const client = etcd.client();
    const store = new DirectoryStore(join(dir, 'backups2'));
    const spec = resolveSpec('prod', 1, { managers: { count: 1 }, workers: { count: 0 }, provider: { local: {} }, backup: {} });
    const m = await takeBackup({
      spec,
      purpose: 'manual',
      membership: 'x',
      snapshot: observed(),
      dockerEndpoint: () => ({ socketPath: '/nonexistent' }),
      mgmt: etcdFencedKv(client),
      prefix: '/sk-test2',
      now: Date.now,
      logger: silentLogger(),
      store,
    });
    const { artifacts } = await readBackup(store, 'prod', m.name);
    const snap = Buffer.from(artifacts.get('etcd.db') as Buffer);
    snap[snap.length - 100] = (snap[snap.length - 100] ?? 0) ^ 0xff;
    await expect(verifyEtcdSnapshot(snap)).rejects.toThrow(/restoring the etcd snapshot/);
    client.close();
  }, 60_000);

  it('a failed backup is recorded as the last failure and keeps the newest good one', async () => {
    const client = etcd.client();
    const spec = resolveSpec('prod', 1, { managers: { count: 1 }, workers: { count: 0 }, provider: { local: {} }, backup: {} });
    const mgmt = etcdFencedKv(client);
    const store = new DirectoryStore(join(dir, 'backups3'));
    await takeBackup({
      spec,
      purpose: 'scheduled',
      membership: 'a',
      snapshot: observed(),
      dockerEndpoint: () => ({ socketPath: '/x' }),
      mgmt,
      prefix: '/sk-test3',
      now: Date.now,
      logger: silentLogger(),
      store,
    });
    const dead = {
      ...observed(),
      etcd: {
        status: 'ok' as const,
        value: {
          members: [
            {
              id: '1',
              name: 'm',
              peerURLs: ['http://127.0.0.1:1'],
              clientURLs: ['http://127.0.0.1:1'],
              isLearner: false,
              healthy: true,
              leader: true,
            },
          ],
          alarms: [],
        },
      },
    };
    await expect(
      takeBackup({
        spec,
        purpose: 'pre-change',
        membership: 'b',
        snapshot: dead,
        dockerEndpoint: () => ({ socketPath: '/x' }),
        mgmt,
        prefix: '/sk-test3',
        now: Date.now,
        logger: silentLogger(),
        store,
      }),
    ).rejects.toThrow(/etcd snapshot/);
    const record = await readBackupRecord(mgmt, '/sk-test3', 'prod');
    expect(record?.newest?.membership).toBe('a');
    expect(record?.lastFailure).toMatchObject({ purpose: 'pre-change', membership: 'b' });
    client.close();
  }, 60_000);
});
