// The controller's backup record in the management etcd (keys.backup): the newest good
// backup and the newest failure. The observer reads it into Snapshot.backup (what the
// planner needs: time and membership fingerprint), status and metrics read the rest.
// Written by the leading controller (fenced like every controller write) and by
// `swarmkeeper backup create` (unfenced): both update it read-change-write with a guard
// on the value read, so neither drops the other's newer backup or failure.
import type { BackupObservation, BackupPurpose } from '../model/snapshot.ts';
import { isSwarmkeeperError } from '../errors.ts';
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
  return parseRecord(await kv.get(clusterKeys(prefix, cluster).backup));
}

function parseRecord(text: string | undefined): BackupRecord | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as BackupRecord;
  } catch {
    return undefined;
  }
}

type BackupEntry = NonNullable<BackupRecord['newest']>;
type FailureEntry = NonNullable<BackupRecord['lastFailure']>;

/** Records a backup taken (kept only when newer than the record's) and keeps the record's failure. */
export function recordSuccess(
  kv: FencedKv,
  prefix: string,
  cluster: string,
  newest: BackupEntry,
  fence: LeaderFence | undefined,
): Promise<void> {
  return updateBackupRecord(kv, prefix, cluster, fence, (prev) => ({
    newest: prev?.newest && prev.newest.takenAt > newest.takenAt ? prev.newest : newest,
    ...(prev?.lastFailure ? { lastFailure: prev.lastFailure } : {}),
  }));
}

/** Records a failed attempt (kept only when newer than the record's failure) and keeps the newest backup. */
export function recordFailure(
  kv: FencedKv,
  prefix: string,
  cluster: string,
  failure: FailureEntry,
  fence: LeaderFence | undefined,
): Promise<void> {
  return updateBackupRecord(kv, prefix, cluster, fence, (prev) => ({
    ...(prev?.newest ? { newest: prev.newest } : {}),
    lastFailure: prev?.lastFailure && prev.lastFailure.at > failure.at ? prev.lastFailure : failure,
  }));
}

/** Read, change, write with a guard on what was read; again when another writer came between. */
async function updateBackupRecord(
  kv: FencedKv,
  prefix: string,
  cluster: string,
  fence: LeaderFence | undefined,
  change: (prev: BackupRecord | undefined) => BackupRecord,
): Promise<void> {
  const key = clusterKeys(prefix, cluster).backup;
  for (let attempt = 1; ; attempt++) {
    const text = await kv.get(key);
    try {
      await kv.write([{ kind: 'put', key, value: JSON.stringify(change(parseRecord(text))) }], fence, 'recording the backup', {
        key,
        value: text,
      });
      return;
    } catch (err) {
      if (attempt >= 5 || !(isSwarmkeeperError(err, 'Conflict') && err.details.guardKey === key)) throw err;
    }
  }
}

/** What the planner sees: a failure only while it is newer than the newest success. */
export function toBackupObservation(r: BackupRecord): BackupObservation {
  const failure = r.lastFailure && (!r.newest || r.lastFailure.at > r.newest.takenAt) ? r.lastFailure : undefined;
  return {
    ...(r.newest ? { newest: r.newest } : {}),
    ...(failure ? { lastFailure: failure } : {}),
  };
}
