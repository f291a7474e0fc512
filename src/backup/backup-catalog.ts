// Backups in a store: one folder per backup, `<cluster>/<name>/`, holding its artifacts
// (`etcd.db`: the etcd snapshot; `swarm.json`: the swarm's exported state) and, written
// LAST, `manifest.json` with each artifact's size and SHA-256. A folder without a
// manifest is an interrupted backup: never listed as a backup, pruned by retention.
// Reading a backup verifies every artifact against its manifest: a truncated or damaged
// one is refused with a Corrupt error before anyone acts on it.
import { createHash } from 'node:crypto';
import { SwarmkeeperError, wrapError } from '../errors.ts';
import type { BackupPurpose } from '../model/snapshot.ts';
import type { BackupStore } from './port.ts';

export const MANIFEST = 'manifest.json';
export const ETCD_ARTIFACT = 'etcd.db';
export const SWARM_ARTIFACT = 'swarm.json';

export interface ArtifactEntry {
  readonly name: string;
  readonly sizeBytes: number;
  readonly sha256: string;
}

export interface BackupManifest {
  readonly apiVersion: 'swarmkeeper.dev/v1alpha1';
  readonly kind: 'SwarmClusterBackup';
  readonly name: string;
  readonly cluster: string;
  readonly purpose: BackupPurpose;
  /** ISO time the etcd snapshot was started. */
  readonly takenAt: string;
  readonly durationMs: number;
  /** The membership fingerprint the backup covers (src/plan/backups.ts). */
  readonly membership: string;
  readonly etcd: { readonly revision?: number; readonly memberName?: string; readonly clientURL: string };
  readonly swarm?: {
    readonly services: number;
    readonly networks: number;
    readonly configs: number;
    readonly secrets: number;
    readonly error?: string;
  };
  readonly artifacts: readonly ArtifactEntry[];
}

export type ManifestDraft = Omit<BackupManifest, 'apiVersion' | 'kind' | 'artifacts'>;

/**
 * A sortable, DNS-label-like name down to the millisecond (two backups in one second,
 * a pre-change one right after a scheduled one, must not share a name):
 * `<cluster>-20261201t120000123z-scheduled`.
 */
export function backupName(cluster: string, at: number, purpose: BackupPurpose): string {
  const stamp = new Date(at).toISOString().replace(/[-:.]/g, '').toLowerCase();
  return `${cluster}-${stamp}-${purpose}`;
}

function folderOf(cluster: string, name: string): string {
  return `${cluster}/${name}/`;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Stores the artifacts, then the manifest that makes the backup exist. */
export async function writeBackup(
  store: BackupStore,
  draft: ManifestDraft,
  artifacts: ReadonlyMap<string, Uint8Array>,
): Promise<BackupManifest> {
  const folder = folderOf(draft.cluster, draft.name);
  const entries: ArtifactEntry[] = [];
  for (const [name, data] of artifacts) {
    await store.put(`${folder}${name}`, data);
    entries.push({ name, sizeBytes: data.byteLength, sha256: sha256Hex(data) });
  }
  const manifest: BackupManifest = { apiVersion: 'swarmkeeper.dev/v1alpha1', kind: 'SwarmClusterBackup', ...draft, artifacts: entries };
  await store.put(`${folder}${MANIFEST}`, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
  return manifest;
}

export interface Listing {
  /** Complete backups, newest first. */
  readonly backups: readonly BackupManifest[];
  /** Folders without a manifest (interrupted), or whose manifest cannot be read. */
  readonly incomplete: readonly string[];
}

export async function listBackups(store: BackupStore, cluster: string): Promise<Listing> {
  const keys = await store.list(`${cluster}/`);
  const names = [...new Set(keys.map((k) => k.split('/')[1]).filter((n): n is string => n !== undefined && n !== ''))];
  const backups: BackupManifest[] = [];
  const incomplete: string[] = [];
  for (const name of names) {
    if (!keys.includes(`${folderOf(cluster, name)}${MANIFEST}`)) {
      incomplete.push(name);
      continue;
    }
    try {
      backups.push(await readManifest(store, cluster, name));
    } catch {
      incomplete.push(name);
    }
  }
  backups.sort((a, b) => (a.takenAt < b.takenAt ? 1 : a.takenAt > b.takenAt ? -1 : a.name < b.name ? 1 : -1));
  return { backups, incomplete };
}

export async function readManifest(store: BackupStore, cluster: string, name: string): Promise<BackupManifest> {
  const key = `${folderOf(cluster, name)}${MANIFEST}`;
  let text: string;
  try {
    text = (await store.get(key)).toString('utf8');
  } catch (err) {
    if (err instanceof SwarmkeeperError && err.code === 'NotFound')
      throw new SwarmkeeperError('NotFound', `backup ${name} of cluster ${cluster} not found in ${store.location}`, { cause: err });
    throw wrapError(`reading backup ${name}`, err);
  }
  let m: BackupManifest;
  try {
    m = JSON.parse(text) as BackupManifest;
  } catch (err) {
    throw new SwarmkeeperError('Corrupt', `backup ${name}: ${MANIFEST} is not valid JSON (truncated or damaged)`, { cause: err });
  }
  if (m.kind !== 'SwarmClusterBackup' || m.name !== name || m.cluster !== cluster || !Array.isArray(m.artifacts)) {
    throw new SwarmkeeperError('Corrupt', `backup ${name}: ${MANIFEST} does not describe backup ${name} of cluster ${cluster}`);
  }
  return m;
}

/** The manifest and every artifact, each verified (size, then SHA-256). */
export async function readBackup(
  store: BackupStore,
  cluster: string,
  name: string,
): Promise<{ manifest: BackupManifest; artifacts: Map<string, Buffer> }> {
  const manifest = await readManifest(store, cluster, name);
  const artifacts = new Map<string, Buffer>();
  for (const a of manifest.artifacts) {
    let data: Buffer;
    try {
      data = await store.get(`${folderOf(cluster, name)}${a.name}`);
    } catch (err) {
      if (err instanceof SwarmkeeperError && err.code === 'NotFound')
        throw new SwarmkeeperError('Corrupt', `backup ${name}: ${a.name} is missing from ${store.location}`, { cause: err });
      throw err;
    }
    artifacts.set(a.name, verifyArtifact(name, a, data));
  }
  return { manifest, artifacts };
}

export function verifyArtifact(backup: string, a: ArtifactEntry, data: Buffer): Buffer {
  if (data.length !== a.sizeBytes) {
    throw new SwarmkeeperError(
      'Corrupt',
      `backup ${backup}: ${a.name} is ${data.length < a.sizeBytes ? 'truncated' : 'too long'} (${data.length} bytes, the manifest says ${a.sizeBytes}); refusing it`,
    );
  }
  const sum = sha256Hex(data);
  if (sum !== a.sha256)
    throw new SwarmkeeperError(
      'Corrupt',
      `backup ${backup}: ${a.name} fails its checksum (sha256 ${sum.slice(0, 12)}…, the manifest says ${a.sha256.slice(0, 12)}…); refusing it`,
    );
  return data;
}

export interface Retention {
  readonly count: number;
  readonly maxAgeSeconds: number;
}

/** Interrupted backups older than this are deleted (a running one is younger). */
const INCOMPLETE_GRACE_MS = 3_600_000;

/**
 * Deletes backups beyond the newest `count` and those older than `maxAgeSeconds`; the
 * newest complete backup is always kept, whatever its age. Returns the deleted names.
 */
export async function pruneBackups(store: BackupStore, cluster: string, retention: Retention, now: number): Promise<string[]> {
  const { backups, incomplete } = await listBackups(store, cluster);
  const doomed = backups
    .filter((b, i) => i > 0 && (i >= retention.count || now - Date.parse(b.takenAt) > retention.maxAgeSeconds * 1000))
    .map((b) => b.name);
  const stale = incomplete.filter((n) => {
    const t = timeOfName(n);
    return t !== undefined && now - t > INCOMPLETE_GRACE_MS;
  });
  for (const name of [...doomed, ...stale]) await deleteBackup(store, cluster, name);
  return [...doomed, ...stale];
}

/** The manifest goes first: a half-deleted backup is no longer listed as one. */
export async function deleteBackup(store: BackupStore, cluster: string, name: string): Promise<void> {
  const folder = folderOf(cluster, name);
  const keys = await store.list(folder);
  const ordered = [...keys.filter((k) => k.endsWith(`/${MANIFEST}`)), ...keys.filter((k) => !k.endsWith(`/${MANIFEST}`))];
  for (const k of ordered) await store.delete(k);
}

function timeOfName(name: string): number | undefined {
  const m = /-(\d{8})t(\d{6})\d{3}z-[a-z-]+$/.exec(name);
  if (!m?.[1] || !m[2]) return undefined;
  const [d, t] = [m[1], m[2]];
  return Date.parse(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${t.slice(0, 2)}:${t.slice(2, 4)}:${t.slice(4, 6)}Z`);
}
