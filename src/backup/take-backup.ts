// Taking a backup (the executor's backup.create step, and `swarmkeeper backup create`):
//   1. stream an etcd snapshot from one healthy voter (a follower first: the leader is
//      busiest), 2. export the swarm's state from a reachable manager, 3. store both and,
//      last, the manifest with their checksums, 4. read the backup back and verify it,
//      5. prune to the retention, 6. record it (keys.backup) for the planner and status
//      (a guarded update: the CLI's unfenced record never races the leader's away).
// A failure anywhere records lastFailure and throws: the executor stops there, so a
// membership step behind a failed pre-change backup never runs.
import type { BackupTaker } from '../act/context.ts';
import { messageOf, SwarmkeeperError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { BackupPurpose, EtcdMember, Instance, Snapshot } from '../model/snapshot.ts';
import type { DockerEndpoint } from '../swarm/docker-endpoint.ts';
import type { ResolvedSpec } from '../spec/defaults.ts';
import type { FencedKv } from '../store/fenced-kv.ts';
import type { LeaderFence } from '../store/port.ts';
import { dockerOf } from '../workload/services.ts';
import { backupName, ETCD_ARTIFACT, pruneBackups, readBackup, SWARM_ARTIFACT, writeBackup, type BackupManifest } from './backup-catalog.ts';
import { recordFailure, recordSuccess } from './backup-record.ts';
import { streamEtcdSnapshot } from '../etcd/etcd-snapshot.ts';
import type { BackupStore } from './port.ts';
import { openBackupStore, storeSpecOf } from './store-for-spec.ts';
import { exportSwarmState } from './swarm-state.ts';

export interface BackupOutcome {
  readonly outcome: 'ok' | 'failed';
  readonly purpose: BackupPurpose;
  readonly durationSeconds: number;
  readonly sizeBytes?: number;
  readonly takenAt?: number;
}

export interface TakeBackupInput {
  readonly spec: ResolvedSpec;
  readonly purpose: BackupPurpose;
  readonly membership: string;
  readonly snapshot: Snapshot;
  readonly dockerEndpoint: (i: Instance) => DockerEndpoint;
  readonly mgmt: FencedKv;
  readonly prefix: string;
  readonly fence?: LeaderFence;
  readonly now: () => number;
  readonly logger: Logger;
  /** Default: the store the spec names. */
  readonly store?: BackupStore;
  readonly onOutcome?: (cluster: string, o: BackupOutcome) => void;
}

export async function takeBackup(input: TakeBackupInput): Promise<BackupManifest> {
  const { spec, purpose } = input;
  const cluster = spec.name;
  const started = input.now();
  try {
    const store = input.store ?? openBackupStore(storeSpecOf(spec));
    const member = snapshotSource(input.snapshot);
    const url = member.clientURLs[0] as string;
    input.logger.info({ purpose, member: member.name, url }, 'Taking a backup');
    const etcd = await streamEtcdSnapshot(url);
    const swarm = await exportSwarm(input).catch((err: unknown) => ({ error: messageOf(err) }));
    const artifacts = new Map<string, Uint8Array>([[ETCD_ARTIFACT, etcd.data]]);
    if (!('error' in swarm)) artifacts.set(SWARM_ARTIFACT, Buffer.from(`${JSON.stringify(swarm, null, 2)}\n`));
    const manifest = await writeBackup(
      store,
      {
        name: backupName(cluster, started, purpose),
        cluster,
        purpose,
        takenAt: new Date(started).toISOString(),
        durationMs: Math.max(0, input.now() - started),
        membership: input.membership,
        etcd: { clientURL: url, memberName: member.name, ...(etcd.revision === undefined ? {} : { revision: etcd.revision }) },
        swarm:
          'error' in swarm
            ? { services: 0, networks: 0, configs: 0, secrets: 0, error: swarm.error }
            : {
                services: swarm.services.length,
                networks: swarm.networks.length,
                configs: swarm.configs.length,
                secrets: swarm.secrets.length,
              },
      },
      artifacts,
    );
    await readBackup(store, cluster, manifest.name); // what was stored is what was meant
    const retention = spec.backup?.retention ?? { count: 24, maxAgeSeconds: 7 * 86400 };
    const pruned = await pruneBackups(store, cluster, retention, input.now());
    const sizeBytes = manifest.artifacts.reduce((n, a) => n + a.sizeBytes, 0);
    const durationMs = input.now() - started;
    const newest = {
      name: manifest.name,
      takenAt: started,
      purpose,
      membership: input.membership,
      sizeBytes,
      durationMs,
      ...(etcd.revision === undefined ? {} : { etcdRevision: etcd.revision }),
    };
    await recordSuccess(input.mgmt, input.prefix, cluster, newest, input.fence);
    input.onOutcome?.(cluster, { outcome: 'ok', purpose, durationSeconds: durationMs / 1000, sizeBytes, takenAt: started });
    input.logger.info(
      { backup: manifest.name, sizeBytes, durationMs, pruned, swarmError: 'error' in swarm ? swarm.error : undefined },
      'Backup taken',
    );
    return manifest;
  } catch (err) {
    const error = messageOf(err);
    const failure = { at: input.now(), purpose, membership: input.membership, error };
    await recordFailure(input.mgmt, input.prefix, cluster, failure, input.fence).catch(() => undefined);
    input.onOutcome?.(cluster, { outcome: 'failed', purpose, durationSeconds: (input.now() - started) / 1000 });
    input.logger.warn({ purpose, err }, 'Backup failed');
    throw err instanceof SwarmkeeperError
      ? err
      : new SwarmkeeperError('Unavailable', `taking a ${purpose} backup of ${cluster}: ${error}`, { cause: err });
  }
}

/** A healthy voter with a client URL: a follower when there is one. */
export function snapshotSource(snapshot: Snapshot): EtcdMember {
  const members = snapshot.etcd.status === 'ok' ? snapshot.etcd.value.members : [];
  const leaderId = snapshot.etcd.status === 'ok' ? snapshot.etcd.value.leaderId : undefined;
  const healthy = members.filter((m) => m.healthy === true && !m.isLearner && m.clientURLs.length > 0);
  const pick = healthy.find((m) => !m.leader && m.id !== leaderId) ?? healthy[0];
  if (!pick) throw new SwarmkeeperError('Unavailable', 'no healthy etcd voter to take a snapshot from');
  return pick;
}

async function exportSwarm(input: TakeBackupInput): ReturnType<typeof exportSwarmState> {
  const managers = (input.snapshot.instances.status === 'ok' ? input.snapshot.instances.value : []).filter(
    (i) => i.role === 'manager' && i.state === 'running',
  );
  const leaderNodes =
    input.snapshot.swarm.status === 'ok'
      ? input.snapshot.swarm.value.nodes.filter((n) => n.role === 'manager' && n.reachability === 'reachable')
      : [];
  const reachable = new Set(leaderNodes.map((n) => n.instanceId));
  const ordered = [...managers].sort((a, b) => Number(reachable.has(b.id)) - Number(reachable.has(a.id)));
  const errors: string[] = [];
  for (const m of ordered) {
    try {
      return await exportSwarmState(dockerOf(input.dockerEndpoint(m)), input.now());
    } catch (err) {
      errors.push(`${m.id}: ${messageOf(err)}`);
    }
  }
  throw new SwarmkeeperError('Unavailable', `no swarm manager answered (${errors.join('; ') || 'none running'})`);
}

/** The executor's BackupTaker: a backup.create step through takeBackup(). */
export function backupTaker(onOutcome?: TakeBackupInput['onOutcome']): BackupTaker {
  return async (step, snapshot, deps) => {
    const m = await takeBackup({
      spec: deps.spec,
      purpose: step.purpose,
      membership: step.membership,
      snapshot,
      dockerEndpoint: (i) => deps.provider.dockerEndpoint(i),
      mgmt: deps.mgmt,
      prefix: deps.prefix,
      ...(deps.fence ? { fence: deps.fence } : {}),
      now: deps.now,
      logger: deps.logger,
      ...(onOutcome ? { onOutcome } : {}),
    });
    return `backup ${m.name} (${m.artifacts.reduce((n, a) => n + a.sizeBytes, 0)} bytes, etcd revision ${m.etcd.revision ?? '?'})`;
  };
}
