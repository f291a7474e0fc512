// The documents kept in a cluster's keys and how to read them: which document is in
// force, the error of an invalid spec key, the stored form of an applied document
// (store-owned metadata carried over, generation bumped on spec changes). No I/O
// (new uids come from node:crypto).
import { randomUUID } from 'node:crypto';
import { messageOf, SwarmkeeperError } from '../errors.ts';
import { parseClusterText } from '../spec/codec.ts';
import { describeInvalid, validateCluster } from '../spec/validate.ts';
import type { SwarmCluster, SwarmClusterStatus } from '../spec/schema.ts';
import type { StoredCluster } from './port.ts';

/** What the keys of one cluster hold right now, before any interpretation. */
export interface RawCluster {
  readonly name: string;
  /** The spec key's text and mod revision ('0' when absent). */
  readonly specText?: string;
  readonly specRevision: string;
  readonly lastGoodText?: string;
  readonly lastGoodRevision: string;
  readonly statusText?: string;
  /** The deletion request (`swarmkeeper delete`): JSON `{ "deletionTimestamp": ISO time }`. */
  readonly deletionText?: string;
}

/** StoredCluster from the raw keys; undefined when nothing valid was ever stored. */
export function interpret(raw: RawCluster): StoredCluster | undefined {
  const inForceDoc = inForce(raw);
  const specError = specErrorOf(raw);
  if (!inForceDoc) return undefined;
  const status = raw.statusText === undefined ? undefined : readStatus(raw.name, raw.statusText);
  const deletionTimestamp = raw.deletionText === undefined ? undefined : parseDeletion(raw.deletionText);
  const cluster = withRevision(inForceDoc, raw.specRevision);
  return {
    cluster: deletionTimestamp === undefined ? cluster : { ...cluster, metadata: { ...cluster.metadata, deletionTimestamp } },
    specRevision: raw.specRevision,
    ...(specError ? { specError } : {}),
    ...(status ? { status } : {}),
  };
}

/** The document in force: last-good, or a valid spec key when nothing was promoted yet. */
export function inForce(raw: RawCluster): SwarmCluster | undefined {
  const fits = (c: SwarmCluster | undefined): c is SwarmCluster => c !== undefined && (raw.name === '' || c.metadata.name === raw.name);
  if (raw.lastGoodText !== undefined) {
    const c = readStoredDoc(raw.name, 'last-good', raw.lastGoodText).cluster;
    if (fits(c)) return c;
  }
  if (raw.specText !== undefined) {
    const c = readStoredDoc(raw.name, 'spec', raw.specText).cluster;
    if (fits(c)) return { ...c, metadata: { ...c.metadata, generation: c.metadata.generation ?? 1 } };
  }
  return undefined;
}

/** The error of the spec key's document, when it is invalid (not in force). */
export function specErrorOf(raw: RawCluster): string | undefined {
  if (raw.specText === undefined) return undefined;
  const read = readStoredDoc(raw.name, 'spec', raw.specText);
  if (read.error !== undefined) return read.error;
  const c = read.cluster as SwarmCluster;
  if (c.metadata.name !== raw.name) {
    return `spec key of ${raw.name}: metadata.name is "${c.metadata.name}"; it must match the key's cluster name "${raw.name}"`;
  }
  return undefined;
}

/** A stored document, read: the valid cluster, or why it is not one. */
export interface StoredDocReading {
  readonly cluster?: SwarmCluster;
  readonly error?: string;
}

/**
 * Cache of readings, keyed by cluster and key and checked against the exact text: the
 * controller reads the same spec and last-good every cycle, and parses and validates
 * each text once (a new etcd revision brings a new text). Bounded: least recently used
 * entries go first.
 */
const readings = new Map<string, { readonly text: string; readonly reading: StoredDocReading }>();
const MAX_READINGS = 512;

/** Parses and validates a spec or last-good text, once per distinct text. */
export function readStoredDoc(name: string, which: 'spec' | 'last-good', text: string): StoredDocReading {
  const key = `${which}\u0000${name}`;
  const hit = readings.get(key);
  if (hit && hit.text === text) {
    readings.delete(key);
    readings.set(key, hit);
    return hit.reading;
  }
  const reading = readUncached(which === 'spec' ? `spec key of ${name}` : `last-good of ${name}`, text);
  readings.delete(key);
  readings.set(key, { text, reading });
  if (readings.size > MAX_READINGS) readings.delete(readings.keys().next().value as string);
  return reading;
}

function readUncached(source: string, text: string): StoredDocReading {
  let doc: unknown;
  try {
    doc = parseClusterText(text, source);
  } catch (err) {
    return { error: messageOf(err) };
  }
  const r = validateCluster(doc);
  return r.ok ? { cluster: r.cluster } : { error: describeInvalid(doc, r.errors, source) };
}

/**
 * The stored form of `incoming`: store-owned metadata (uid, creationTimestamp,
 * generation) carried over from `current`, generation bumped when the spec changed.
 * Status is never part of the spec document (it has its own key).
 */
export function composeStored(incoming: SwarmCluster, current: SwarmCluster | undefined, now: () => number): SwarmCluster {
  const prevGen = current?.metadata.generation ?? 0;
  const changed = current === undefined || !deepEqual(current.spec, incoming.spec);
  const metadata: SwarmCluster['metadata'] = {
    name: incoming.metadata.name,
    ...(incoming.metadata.labels ? { labels: incoming.metadata.labels } : {}),
    ...(incoming.metadata.annotations ? { annotations: incoming.metadata.annotations } : {}),
    generation: changed ? prevGen + 1 : prevGen,
    uid: current?.metadata.uid ?? randomUUID(),
    creationTimestamp: current?.metadata.creationTimestamp ?? new Date(now()).toISOString(),
  };
  // deletionTimestamp is never stored in the document: it comes from the deletion key.
  return { apiVersion: incoming.apiVersion, kind: incoming.kind, metadata, spec: incoming.spec };
}

/** Same spec, labels and annotations (what a user can change). */
export function sameContent(a: SwarmCluster, b: SwarmCluster): boolean {
  return (
    deepEqual(a.spec, b.spec) &&
    deepEqual(a.metadata.labels ?? {}, b.metadata.labels ?? {}) &&
    deepEqual(a.metadata.annotations ?? {}, b.metadata.annotations ?? {})
  );
}

export function withRevision(c: SwarmCluster, revision: string): SwarmCluster {
  const { status: _status, ...rest } = c;
  return { ...rest, metadata: { ...c.metadata, resourceVersion: revision } };
}

export function tryParse(text: string): unknown {
  try {
    return parseClusterText(text, 'stored document');
  } catch {
    return undefined;
  }
}

/** The deletion request's time; a request that cannot be read still counts (deletion was asked for). */
function parseDeletion(text: string): string {
  try {
    const v = JSON.parse(text) as { deletionTimestamp?: unknown };
    if (typeof v.deletionTimestamp === 'string' && !Number.isNaN(Date.parse(v.deletionTimestamp))) return v.deletionTimestamp;
  } catch {
    // fall through
  }
  return new Date(0).toISOString();
}

/**
 * The last status text read per cluster and what it parsed to: the controller reads its
 * own status back every cycle, and at 10,000 nodes parsing it again is a large share of
 * the cycle. Callers treat the returned status as read-only. Bounded like `readings`.
 */
const statuses = new Map<string, { readonly text: string; readonly status: SwarmClusterStatus | undefined }>();

function readStatus(name: string, text: string): SwarmClusterStatus | undefined {
  const hit = statuses.get(name);
  if (hit && hit.text === text) return hit.status;
  const status = parseStatus(text);
  statuses.delete(name);
  statuses.set(name, { text, status });
  if (statuses.size > MAX_READINGS) statuses.delete(statuses.keys().next().value as string);
  return status;
}

function parseStatus(text: string): SwarmClusterStatus | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as SwarmClusterStatus) : undefined;
  } catch {
    return undefined;
  }
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => deepEqual(ao[k], bo[k]));
}

/** The Conflict error both stores raise when the spec moved since the caller read it. */
export function conflict(name: string, expected: string, actual: string): SwarmkeeperError {
  return new SwarmkeeperError(
    'Conflict',
    `SwarmCluster "${name}" was changed by someone else (expected revision ${expected}, found ${actual}); read it again and retry`,
    { details: { name, expected, actual } },
  );
}
