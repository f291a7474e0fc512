import { describe, expect, it } from 'vitest';
import { MemoryFencedKv } from '../store/memory-kv.ts';
import { clusterKeys } from '../store/keys.ts';
import { readBackupRecord, recordFailure, recordSuccess } from './backup-record.ts';

const entry = (name: string, takenAt: number) => ({
  name,
  takenAt,
  purpose: 'manual' as const,
  membership: 'm',
  sizeBytes: 1,
  durationMs: 1,
});

/** A kv where another writer records `between` right after this writer's first read. */
function racingKv(between: (kv: MemoryFencedKv) => Promise<void>): MemoryFencedKv {
  const kv = new MemoryFencedKv();
  let raced = false;
  const get = kv.get.bind(kv);
  kv.get = async (key) => {
    const v = await get(key);
    if (!raced) {
      raced = true;
      await between(kv);
    }
    return v;
  };
  return kv;
}

describe('the backup record: read-change-write with a guard, so no writer drops the other', () => {
  it("an unfenced record (backup create) racing the leader's newer one keeps the newer backup", async () => {
    const kv = racingKv((k) => recordSuccess(k, '/sk', 'prod', entry('leader-newer', 2000), undefined));
    await recordSuccess(kv, '/sk', 'prod', entry('cli-older', 1000), undefined);
    expect((await readBackupRecord(kv, '/sk', 'prod'))?.newest?.name).toBe('leader-newer');
  });

  it('a failure recorded while another writer records a backup keeps both', async () => {
    const kv = racingKv((k) => recordSuccess(k, '/sk', 'prod', entry('good', 1000), undefined));
    await recordFailure(kv, '/sk', 'prod', { at: 3000, purpose: 'scheduled', membership: 'm', error: 'store down' }, undefined);
    const rec = await readBackupRecord(kv, '/sk', 'prod');
    expect(rec?.newest?.name).toBe('good');
    expect(rec?.lastFailure?.error).toBe('store down');
    expect(await kv.get(clusterKeys('/sk', 'prod').backup)).toContain('store down');
  });
});
