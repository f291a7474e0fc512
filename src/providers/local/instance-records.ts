// The local provider's state on disk, so a new LocalProvider (a restarted controller)
// sees the instances an earlier one launched. Layout under the provider's baseDir:
//
//   <baseDir>/state/<cluster>/<instance id>.json   one InstanceRecord per instance
//   <baseDir>/n/<instance id>/                      the node's directory: dockerd's files
//                                                   (d.sock, d.pid, data/, x/) and the
//                                                   agent's (agent/, agent.log, agent.pid)
//
// Node directories are kept out of the cluster name's way and instance ids are short,
// because dockerd's unix sockets live under them (108-byte limit, see dockerd-process.ts).
// Records are written whole to a temporary file and renamed, so a reader never sees half
// a record. A record is written BEFORE any process starts (phase 'launching'): a crash
// mid-launch leaves a record the controller sees (and cleans up as never joined), never
// an untracked process. Once the processes are spawned it says 'booting' with their
// pids, and 'running' from its dockerd's first answer (booting.ts).
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { Role } from '../../spec/schema.ts';

export interface InstancePids {
  readonly dockerd?: number;
  readonly agent?: number;
}

export interface InstanceRecord {
  readonly id: string;
  readonly cluster: string;
  readonly role: Role;
  readonly address: string;
  readonly configHash: string;
  readonly clientToken: string;
  /** Index of the instance within its launch (0..count-1). */
  readonly launchIndex: number;
  readonly launchedAt: number;
  readonly nodeDir: string;
  /**
   * launching: processes being spawned; booting: spawned, dockerd not answering yet;
   * running: dockerd has answered; terminating: being torn down.
   */
  readonly phase: 'launching' | 'booting' | 'running' | 'terminating';
  readonly pids: InstancePids;
  readonly zone?: string;
}

export function stateDir(baseDir: string, cluster: string): string {
  return join(baseDir, 'state', cluster);
}

export function nodeDirOf(baseDir: string, instanceId: string): string {
  return join(baseDir, 'n', instanceId);
}

export function recordPath(baseDir: string, cluster: string, id: string): string {
  return join(stateDir(baseDir, cluster), `${id}.json`);
}

export function writeRecord(baseDir: string, rec: InstanceRecord): void {
  const dir = stateDir(baseDir, rec.cluster);
  mkdirSync(dir, { recursive: true });
  const file = recordPath(baseDir, rec.cluster, rec.id);
  writeFileAtomic.sync(file, `${JSON.stringify(rec, null, 2)}\n`, { mode: 0o600, fsync: true });
}

export function readRecord(baseDir: string, cluster: string, id: string): InstanceRecord | undefined {
  let text: string;
  try {
    text = readFileSync(recordPath(baseDir, cluster, id), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return parseRecord(text, recordPath(baseDir, cluster, id));
}

/** Every record of the cluster, oldest launch first. Throws on an unreadable record (never a partial list). */
export function listRecords(baseDir: string, cluster: string): InstanceRecord[] {
  let names: string[];
  try {
    names = readdirSync(stateDir(baseDir, cluster));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .filter((n) => n.endsWith('.json'))
    .map((n) => parseRecord(readFileSync(join(stateDir(baseDir, cluster), n), 'utf8'), join(stateDir(baseDir, cluster), n)))
    .sort((a, b) => a.launchedAt - b.launchedAt || a.id.localeCompare(b.id));
}

export function deleteRecord(baseDir: string, cluster: string, id: string): void {
  rmSync(recordPath(baseDir, cluster, id), { force: true });
}

export function parseRecord(text: string, source: string): InstanceRecord {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error(`${source}: not JSON`);
  }
  const r = v as Partial<InstanceRecord>;
  for (const field of ['id', 'cluster', 'role', 'address', 'configHash', 'clientToken', 'nodeDir', 'phase'] as const) {
    if (typeof r[field] !== 'string') throw new Error(`${source}: field ${field} is missing or not a string`);
  }
  if (typeof r.launchedAt !== 'number' || typeof r.launchIndex !== 'number' || typeof r.pids !== 'object' || r.pids === null) {
    throw new Error(`${source}: fields launchedAt, launchIndex and pids are required`);
  }
  return r as InstanceRecord;
}
