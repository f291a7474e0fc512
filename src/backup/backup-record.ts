// The controller's backup record in the management etcd (keys.backup): the newest good
// backup and the newest failure. The observer reads it into Snapshot.backup (what the
// planner needs: time and membership fingerprint), status and metrics read the rest.
// Written by the leading controller only, fenced like every controller write.
import type { BackupObservation, BackupPurpose } from '../model/snapshot.ts';
import type { FencedKv } from '../store/fenced-kv.ts';
import { clusterKeys } from '../store/keys.ts';
import type { LeaderFence } from '../store/port.ts';

export interface BackupRecord {
  readonly newest?: {
    readonly name: string;
    readonly takenAt: number;
    readonly purpose: BackupPurpose;
    readonly membership: string;
    readonly sizeBytes: number;
    readonly durationMs: number;
    readonly etcdRevision?: number;
  };
  readonly lastFailure?: { readonly at: number; readonly purpose: BackupPurpose; readonly membership: string; readonly error: string };
}

export async function readBackupRecord(kv: Pick<FencedKv, 'get'>, prefix: string, cluster: string): Promise<BackupRecord | undefined> {
  const text = await kv.get(clusterKeys(prefix, cluster).backup);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as BackupRecord;
  } catch {
    return undefined;
  }
}

export async function writeBackupRecord(kv: FencedKv, prefix: string, cluster: string, record: BackupRecord, fence: LeaderFence | undefined): Promise<void> {
  await kv.write([{ kind: 'put', key: clusterKeys(prefix, cluster).backup, value: JSON.stringify(record) }], fence, 'recording the backup');
}

/** What the planner sees: a failure only while it is newer than the newest success. */
export function toBackupObservation(r: BackupRecord): BackupObservation {
  const failure = r.lastFailure && (!r.newest || r.lastFailure.at > r.newest.takenAt) ? r.lastFailure : undefined;
  return {
    ...(r.newest ? { newest: r.newest } : {}),
    ...(failure ? { lastFailure: failure } : {}),
  };
}
