// `swarmkeeper recover NAME --from BACKUP`: rebuilds a cluster that lost every manager
// (or whose quorum is frozen) from one backup. Never automatic: an operator runs it.
// In order, each stage reported through `progress`:
//   1. verify the backup (every checksum, the snapshot restores in a scratch dir); a
//      damaged backup is refused here, before anything changed;
//   2. refuse when the cluster's etcd still has quorum (unless forced): then it is not lost;
//   3. write the recovery order (phase fencing: the controller plans nothing) with the
//      snapshot, so the new founder's agent can read it;
//   4. terminate every instance of the lost cluster (managers are dead; workers of the old
//      swarm cannot join the new one and are replaced), reset the join records (init
//      claim, endpoints, join tokens) and the journal, marks and node controls, which
//      name the old nodes;
//   5. phase founding: the controller launches managers as for a new cluster; the one
//      that claims initialisation restores the snapshot into a one-member etcd and
//      initialises a fresh swarm;
//   6. re-create the backup's networks, configs and services on the new swarm by name;
//   7. wait until the controller has grown the cluster back to its spec and says Ready,
//      then remove the order.
// Run again with the same backup after stage 5 began, it resumes at stage 5 (it never
// terminates the new cluster's nodes).
import type Docker from 'dockerode';
import { isSwarmkeeperError, messageOf, SwarmkeeperError } from '../errors.ts';
import { swarmTokensKey } from '../protocol/cluster-endpoints.ts';
import type { Instance, Snapshot } from '../model/snapshot.ts';
import { etcdQuorum } from '../plan/quorum.ts';
import type { Provider } from '../providers/provider.ts';
import type { DockerEndpoint } from '../swarm/docker-endpoint.ts';
import type { ResolvedSpec } from '../spec/defaults.ts';
import type { SwarmClusterStatus } from '../spec/schema.ts';
import type { FencedKv } from '../store/fenced-kv.ts';
import { clusterKeys } from '../store/keys.ts';
import { ETCD_ARTIFACT, readBackup, SWARM_ARTIFACT, type BackupManifest } from './backup-catalog.ts';
import { verifyEtcdSnapshot } from '../etcd/etcd-restore.ts';
import type { BackupStore } from './port.ts';
import { orderFor } from '../protocol/recovery-order.ts';
import { deleteRecoveryOrder, readRecoveryOrder, setRecoveryPhase, writeRecoveryOrder } from './recovery-order-kv.ts';
import { restoreSwarmState, type SwarmRestoreResult } from './swarm-restore.ts';
import type { SwarmExport } from './swarm-state.ts';

export interface RecoverInput {
  readonly spec: ResolvedSpec;
  readonly backup: string;
  readonly store: BackupStore;
  readonly mgmt: FencedKv;
  readonly prefix: string;
  readonly provider: Provider;
  /** The live observation `swarmkeeper plan` makes (is the cluster's etcd really lost?). */
  readonly observe: () => Promise<Snapshot>;
  readonly readStatus: () => Promise<SwarmClusterStatus | undefined>;
  readonly docker: (endpoint: DockerEndpoint) => Docker;
  /** Recover even though the cluster's etcd answers with quorum. */
  readonly force: boolean;
  readonly timeoutMs: number;
  readonly now: () => number;
  readonly progress: (line: string) => void;
  readonly pollMs?: number;
}

export interface RecoverResult {
  readonly backup: BackupManifest;
  readonly founder: string;
  readonly swarm?: SwarmRestoreResult;
  /** From the start of the command to Ready. */
  readonly durationMs: number;
}

export async function recoverCluster(input: RecoverInput): Promise<RecoverResult> {
  const started = input.now();
  const cluster = input.spec.name;
  const say = input.progress;
  const { manifest, snapshot, swarm } = await verifiedBackup(input);
  say(
    `backup/${manifest.name} verified: every checksum matches and the etcd snapshot restores (revision ${manifest.etcd.revision ?? '?'}, taken ${manifest.takenAt})`,
  );

  // A malformed order is replaced below; a failed read is not taken for "no order", which
  // would start over and terminate a new cluster the same command is founding.
  const earlier = await readRecoveryOrder(input.mgmt, input.prefix, cluster).catch((err: unknown) => {
    if (isSwarmkeeperError(err, 'Corrupt')) return undefined;
    throw err;
  });
  if (earlier?.phase === 'founding' && earlier.backup === manifest.name) {
    // The same command ran before and got past the point of no return: carry on from the
    // founding, never terminate the new cluster's nodes.
    say(`resuming the recovery from backup/${manifest.name} begun at ${earlier.requestedAt} (founding)`);
  } else {
    await assertLost(input);
    const order = orderFor(manifest.name, snapshot, new Date(input.now()).toISOString(), manifest.etcd.revision);
    await writeRecoveryOrder(input.mgmt, input.prefix, cluster, order, snapshot);
    say(`recovery order written (${order.parts} part(s), ${snapshot.byteLength} bytes): the controller holds every change`);
    const terminated = await terminateAll(input);
    const reset = await resetJoinRecords(input);
    say(`terminated ${describeInstances(terminated)}; reset ${reset}`);
    await setRecoveryPhase(input.mgmt, input.prefix, cluster, order, 'founding');
    say(
      `founding: the controller launches ${input.spec.managers.count} manager(s); the first restores etcd revision ${manifest.etcd.revision ?? '?'} and initialises a new swarm`,
    );
  }
  const founder = await waitForFounder(input);
  say(`founder ${founder.id} (${founder.address ?? '?'}): etcd restored, swarm initialised, endpoints published`);

  let restored: SwarmRestoreResult | undefined;
  if (swarm) {
    restored = await restoreSwarmState(input.docker(input.provider.dockerEndpoint(founder)), swarm);
    say(describeSwarmRestore(restored));
  } else {
    say(`backup/${manifest.name} holds no swarm state (${manifest.swarm?.error ?? 'not exported'}): no service re-created`);
  }

  await waitForReady(input, started);
  // Kept while a service waits for its secrets: the same command then resumes here and
  // re-creates what is still missing.
  if (!restored?.waitingForSecrets.length) await deleteRecoveryOrder(input.mgmt, input.prefix, cluster);
  return { backup: manifest, founder: founder.id, ...(restored ? { swarm: restored } : {}), durationMs: input.now() - started };
}

async function verifiedBackup(input: RecoverInput): Promise<{ manifest: BackupManifest; snapshot: Buffer; swarm?: SwarmExport }> {
  const read = await readBackup(input.store, input.spec.name, input.backup);
  const snapshot = read.artifacts.get(ETCD_ARTIFACT);
  if (!snapshot) throw new SwarmkeeperError('Corrupt', `backup ${input.backup} has no ${ETCD_ARTIFACT}: refused, nothing changed`);
  await verifyEtcdSnapshot(snapshot);
  const text = read.artifacts.get(SWARM_ARTIFACT);
  if (!text) return { manifest: read.manifest, snapshot };
  try {
    return { manifest: read.manifest, snapshot, swarm: JSON.parse(text.toString('utf8')) as SwarmExport };
  } catch (err) {
    throw new SwarmkeeperError('Corrupt', `backup ${input.backup}: ${SWARM_ARTIFACT} is not JSON: refused, nothing changed`, {
      cause: err,
    });
  }
}

/** The cluster's etcd answering with quorum means it is not lost: recovering would throw its newer data away. */
async function assertLost(input: RecoverInput): Promise<void> {
  const snap = await input.observe();
  if (snap.etcd.status !== 'ok') return;
  const q = etcdQuorum(snap.etcd.value);
  if (q.voters === 0 || !q.held || input.force) return;
  throw new SwarmkeeperError(
    'Conflict',
    `cluster ${input.spec.name}: etcd has quorum (${q.healthy} healthy of ${q.voters} voting members): it is not lost, and recovering would replace its newer data with the backup's; nothing changed (use --force to recover anyway)`,
  );
}

/** Terminates every instance, listing again until none is left (a launch in flight may add one). */
async function terminateAll(input: RecoverInput): Promise<Instance[]> {
  const cluster = input.spec.name;
  const gone: Instance[] = [];
  for (let round = 0; round < 10; round++) {
    const left = await input.provider.list(cluster);
    if (left.length === 0) return gone;
    await Promise.all(left.map((i) => input.provider.terminate(cluster, i.id)));
    gone.push(...left.filter((i) => !gone.some((g) => g.id === i.id)));
  }
  throw new SwarmkeeperError(
    'Conflict',
    `cluster ${cluster}: instances keep appearing while the lost ones are terminated: is another recover running?`,
  );
}

/** Removes what names the old cluster's nodes; the spec, status and backup record stay. */
async function resetJoinRecords(input: RecoverInput): Promise<string> {
  const keys = clusterKeys(input.prefix, input.spec.name);
  const journal = await input.mgmt.getPrefix(keys.journal);
  await input.mgmt.write(
    [
      { kind: 'delete', key: keys.initClaim },
      { kind: 'delete', key: keys.endpoints },
      { kind: 'delete', key: swarmTokensKey(keys.secrets) },
      { kind: 'deletePrefix', key: keys.journal },
      { kind: 'deletePrefix', key: keys.marks },
      { kind: 'deletePrefix', key: keys.controls },
    ],
    undefined,
    'resetting the join records of the lost cluster',
  );
  return `init claim, endpoints, join tokens, journal (${journal.length} entries), health marks, node controls`;
}

async function waitForFounder(input: RecoverInput): Promise<Instance> {
  const keys = clusterKeys(input.prefix, input.spec.name);
  return poll(input, 'the new founder to restore etcd and publish the endpoints', async () => {
    const [claim, endpoints] = await Promise.all([input.mgmt.get(keys.initClaim), input.mgmt.get(keys.endpoints)]);
    if (!claim || !endpoints) return undefined;
    const id = (JSON.parse(claim) as { instanceId?: string }).instanceId;
    return (await input.provider.list(input.spec.name)).find((i) => i.id === id);
  });
}

async function waitForReady(input: RecoverInput, started: number): Promise<SwarmClusterStatus> {
  let last = '';
  return poll(input, `the controller to grow ${input.spec.name} back to Ready`, async () => {
    const [status, instances] = await Promise.all([input.readStatus(), input.provider.list(input.spec.name)]);
    const ids = new Set(instances.map((i) => i.id));
    const nodes = status?.nodes ?? [];
    // Printed when the state changes, not every poll: the elapsed time alone is no news.
    const state = `${status?.phase ?? 'Pending'}: managers ${status?.managers?.ready ?? 0}/${input.spec.managers.count} ready, workers ${status?.workers?.ready ?? 0}/${input.spec.workers.count} ready`;
    if (state !== last) {
      input.progress(`waiting: ${state} (${((input.now() - started) / 1000).toFixed(0)}s)`);
      last = state;
    }
    const ready =
      status?.phase === 'Ready' &&
      status.managers?.ready === input.spec.managers.count &&
      status.workers?.ready === input.spec.workers.count &&
      nodes.length === input.spec.managers.count + input.spec.workers.count &&
      nodes.every((n) => ids.has(n.instanceId));
    return ready ? status : undefined;
  });
}

/**
 * Calls `fn` until it gives a value. A failed read (the management etcd or the provider
 * briefly unreachable) is tried again; the last one is named in the timeout's message,
 * which would otherwise blame a controller that may be running.
 */
export async function poll<T>(
  input: Pick<RecoverInput, 'now' | 'timeoutMs' | 'pollMs'>,
  what: string,
  fn: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = input.now() + input.timeoutMs;
  let lastError: unknown;
  for (;;) {
    const v = await fn().catch((err: unknown) => {
      lastError = err;
      return undefined;
    });
    if (v !== undefined) return v;
    if (input.now() > deadline) {
      const failed = lastError === undefined ? '' : ` (the last read failed: ${messageOf(lastError)})`;
      throw new SwarmkeeperError(
        'Timeout',
        `timed out after ${Math.round(input.timeoutMs / 1000)}s waiting for ${what}${failed}; is the controller running (swarmkeeper run)? The recovery order stays in place: run the same recover command again to carry on`,
        { cause: lastError },
      );
    }
    await new Promise((r) => setTimeout(r, input.pollMs ?? 500));
  }
}

function describeInstances(list: readonly Instance[]): string {
  const managers = list.filter((i) => i.role === 'manager').length;
  return `${managers} manager(s) and ${list.length - managers} worker(s) of the lost cluster${list.length ? ` (${list.map((i) => i.id).join(', ')})` : ''}`;
}

export function describeSwarmRestore(r: SwarmRestoreResult): string {
  const parts = [`re-created ${r.networks.length} network(s), ${r.configs.length} config(s), ${r.services.length} service(s)`];
  if (r.services.length) parts.push(`services: ${r.services.join(', ')}`);
  if (r.existing.length) parts.push(`already there: ${r.existing.join(', ')}`);
  if (r.secretNames.length)
    parts.push(`secrets to provide again (a backup holds names only; docker secret create): ${r.secretNames.join(', ')}`);
  for (const w of r.waitingForSecrets)
    parts.push(
      `service ${w.service} NOT re-created: it needs secret(s) ${w.secrets.join(', ')}; create them, then run the same recover command again (it resumes and re-creates only what is missing)`,
    );
  return parts.join('; ');
}
