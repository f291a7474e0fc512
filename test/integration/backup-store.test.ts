// The backup store port against real stores: a directory (atomic, fsynced writes) and
// S3 through @aws-sdk/client-s3 against a moto server on loopback. The same contract
// runs on both: put, list, get, delete, retention by count and age, and a truncated or
// damaged artifact refused by its checksum.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupName, listBackups, pruneBackups, readBackup, writeBackup, type ManifestDraft } from '../../src/backup/backup-catalog.ts';
import { DirectoryStore } from '../../src/backup/directory-store.ts';
import type { BackupStore } from '../../src/backup/port.ts';
import { openBackupStore } from '../../src/backup/store-for-spec.ts';
import { isSwarmkeeperError } from '../../src/errors.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';

const HOUR = 3_600_000;
const T = Date.parse('2026-12-01T12:00:00Z');

function draft(at: number, purpose: 'scheduled' | 'pre-change' = 'scheduled'): ManifestDraft {
  return {
    name: backupName('prod', at, purpose),
    cluster: 'prod',
    purpose,
    takenAt: new Date(at).toISOString(),
    durationMs: 12,
    membership: 'etcd:1V;swarm:a',
    etcd: { clientURL: 'http://127.0.0.1:2379', revision: 7 },
  };
}

const artifacts = (text: string): Map<string, Uint8Array> =>
  new Map([
    ['etcd.db', Buffer.from(`snapshot ${text}`)],
    ['swarm.json', Buffer.from('{"services":[]}')],
  ]);

function storeContract(
  name: string,
  make: () => BackupStore,
  damage: (store: BackupStore, key: string, data: Buffer) => Promise<void>,
): void {
  describe(name, () => {
    it('puts, lists, gets and deletes objects', async () => {
      const store = make();
      await store.put('c/a/x.json', Buffer.from('one'));
      await store.put('c/a/x.json', Buffer.from('two')); // overwrites
      await store.put('c/b/y.db', Buffer.from('three'));
      expect(await store.list('c/')).toEqual(['c/a/x.json', 'c/b/y.db']);
      expect((await store.get('c/a/x.json')).toString()).toBe('two');
      await store.delete('c/a/x.json');
      await store.delete('c/a/x.json'); // gone already: fine
      expect(await store.list('c/')).toEqual(['c/b/y.db']);
      await expect(store.get('c/a/x.json')).rejects.toSatisfy((e) => isSwarmkeeperError(e, 'NotFound'));
      await expect(store.put('../escape', Buffer.from('x'))).rejects.toThrow(/plain relative path/);
    });

    it('writes backups, lists them newest first, reads them back verified, prunes by count and age', async () => {
      const store = make();
      for (const h of [0, 1, 2, 3]) await writeBackup(store, draft(T + h * HOUR), artifacts(`at ${h}`));
      const { backups } = await listBackups(store, 'prod');
      expect(backups.map((b) => b.name)).toEqual([3, 2, 1, 0].map((h) => backupName('prod', T + h * HOUR, 'scheduled')));
      const back = await readBackup(store, 'prod', backups[0]?.name ?? '');
      expect(back.artifacts.get('etcd.db')?.toString()).toBe('snapshot at 3');

      // Count: keep 3 newest.
      expect(await pruneBackups(store, 'prod', { count: 3, maxAgeSeconds: 100 * 3600 }, T + 4 * HOUR)).toEqual([
        backupName('prod', T, 'scheduled'),
      ]);
      // Age: older than 1.5 h at T+4h goes, except the newest one is always kept.
      const gone = await pruneBackups(store, 'prod', { count: 10, maxAgeSeconds: 5400 }, T + 4 * HOUR);
      expect(gone.sort()).toEqual([1, 2].map((h) => backupName('prod', T + h * HOUR, 'scheduled')).sort());
      expect(await pruneBackups(store, 'prod', { count: 10, maxAgeSeconds: 3600 }, T + 100 * HOUR)).toEqual([]);
      expect((await listBackups(store, 'prod')).backups.map((b) => b.name)).toEqual([backupName('prod', T + 3 * HOUR, 'scheduled')]);
    });

    it('refuses a truncated or damaged artifact with a clear Corrupt error', async () => {
      const store = make();
      const m = await writeBackup(store, draft(T + 10 * HOUR), artifacts('intact'));
      const key = `prod/${m.name}/etcd.db`;
      const good = await store.get(key);
      await damage(store, key, good.subarray(0, good.length - 3));
      await expect(readBackup(store, 'prod', m.name)).rejects.toThrow(
        /etcd\.db is truncated \(\d+ bytes, the manifest says \d+\); refusing it/,
      );
      const flipped = Buffer.from(good);
      flipped[0] = (flipped[0] ?? 0) ^ 0xff;
      await damage(store, key, flipped);
      await expect(readBackup(store, 'prod', m.name)).rejects.toSatisfy(
        (e) => isSwarmkeeperError(e, 'Corrupt') && /fails its checksum/.test((e as Error).message),
      );
      await store.delete(key);
      await expect(readBackup(store, 'prod', m.name)).rejects.toThrow(/etcd\.db is missing/);
    });

    it('a folder without a manifest (an interrupted backup) is not listed as a backup', async () => {
      const store = make();
      await store.put(`prod/${backupName('prod', T + 20 * HOUR, 'scheduled')}/etcd.db`, Buffer.from('half'));
      const { backups, incomplete } = await listBackups(store, 'prod');
      expect(backups.some((b) => b.takenAt === new Date(T + 20 * HOUR).toISOString())).toBe(false);
      expect(incomplete).toContain(backupName('prod', T + 20 * HOUR, 'scheduled'));
    });
  });
}

const dirs: string[] = [];
storeContract(
  'directory store',
  () => {
    const d = mkdtempSync(join(tmpdir(), 'sk-bk-'));
    dirs.push(d);
    return new DirectoryStore(join(d, 'backups'));
  },
  (store, key, data) => store.put(key, data),
);
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

let moto: MotoServer;
let bucketNo = 0;
const raw = (): S3Client =>
  new S3Client({
    region: 'us-east-1',
    endpoint: moto.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });

describe('S3 store against moto', () => {
  beforeAll(async () => {
    moto = await startMoto();
    process.env.AWS_ACCESS_KEY_ID = 'testing';
    process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  }, 90_000);
  afterAll(async () => {
    await moto?.stop();
  });

  // Through the factory the controller uses, which loads the S3 client at the first call.
  const make = (): BackupStore => {
    const bucket = `sk-backups-${++bucketNo}`;
    return openBackupStore({ s3: { bucket, prefix: 'team/', endpoint: moto.endpoint, serverSideEncryption: 'AES256' } });
  };
  // Buckets are created lazily per test (moto is up only after beforeAll).
  const withBucket = (): BackupStore => {
    const s = make();
    const created = raw().send(new CreateBucketCommand({ Bucket: s.location.split('/')[2] }));
    return {
      location: s.location,
      encryption: s.encryption,
      put: async (k, d) => (await created, s.put(k, d)),
      get: async (k) => (await created, s.get(k)),
      list: async (p) => (await created, s.list(p)),
      delete: async (k) => (await created, s.delete(k)),
    };
  };
  storeContract('S3 store', withBucket, async (store, key, data) => {
    // Damage behind the store's back, as a bad disk or a bad copy would.
    const bucket = store.location.split('/')[2];
    await raw().send(new PutObjectCommand({ Bucket: bucket, Key: `team/${key}`, Body: data }));
  });

  it('asks S3 for encryption at rest on every put', async () => {
    const s = make();
    const bucket = s.location.split('/')[2] ?? '';
    await raw().send(new CreateBucketCommand({ Bucket: bucket }));
    await s.put('prod/x/etcd.db', Buffer.from('data'));
    const head = await raw().send(new HeadObjectCommand({ Bucket: bucket, Key: 'team/prod/x/etcd.db' }));
    expect(head.ServerSideEncryption).toBe('AES256');
  });

  it('a missing bucket is a NotFound naming the bucket, not a crash', async () => {
    const s = openBackupStore({ s3: { bucket: 'sk-no-such-bucket', endpoint: moto.endpoint } });
    await expect(s.list('prod/')).rejects.toSatisfy(
      (e) => isSwarmkeeperError(e, 'NotFound') && /s3:\/\/sk-no-such-bucket\//.test((e as Error).message),
    );
  });
});
