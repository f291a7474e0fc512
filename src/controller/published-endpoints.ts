// What keys.endpoints currently says, for Snapshot.publishedClientURLs: the planner
// compares it with the managers and plans cluster.publishEndpoints when they differ. The
// backup record comes along as Snapshot.backup (src/plan/backups.ts), a recovery order in
// progress as Snapshot.recovery.
// observeWithPublished() is the observation the controller plans from (and `plan` shows).
import { parseEndpoints } from '../protocol/cluster-endpoints.ts';
import { readBackupRecord, toBackupObservation } from '../backup/backup-record.ts';
import { readRecoveryOrder } from '../backup/recovery-order-kv.ts';
import { observeCluster, type ObserveDeps } from '../observe/observe.ts';
import type { Snapshot } from '../model/snapshot.ts';
import { clusterKeys } from '../store/keys.ts';
import type { FencedKv } from '../store/fenced-kv.ts';

/** observeCluster() plus what keys.endpoints and the backup record say, read in parallel. */
export async function observeWithPublished(deps: ObserveDeps, mgmt: FencedKv, prefix: string): Promise<Snapshot> {
  const [snap, published, backup, recovery] = await Promise.all([
    observeCluster(deps),
    readPublishedClientURLs(mgmt, prefix, deps.cluster).catch(() => undefined),
    // Unreadable counts as "no backup known": the planner then takes one before a change.
    readBackupRecord(mgmt, prefix, deps.cluster).catch(() => undefined),
    // Unreadable or malformed counts as an order being prepared: better hold than act.
    readRecoveryOrder(mgmt, prefix, deps.cluster).then(
      (o) => (o ? { backup: o.backup, phase: o.phase } : undefined),
      () => ({ backup: '(unreadable recovery order)', phase: 'fencing' as const }),
    ),
  ]);
  return Object.freeze({
    ...snap,
    ...(published === undefined ? {} : { publishedClientURLs: published }),
    ...(backup ? { backup: toBackupObservation(backup) } : {}),
    ...(recovery ? { recovery } : {}),
  });
}

/** The published etcd client URLs, or undefined when nothing (readable) is published. */
export async function readPublishedClientURLs(client: FencedKv, prefix: string, cluster: string): Promise<readonly string[] | undefined> {
  const key = clusterKeys(prefix, cluster).endpoints;
  const text = await client.get(key);
  if (text === undefined) return undefined;
  try {
    return parseEndpoints(text, key).etcdClientURLs;
  } catch {
    return undefined;
  }
}
