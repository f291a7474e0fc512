// The documents kept in a cluster's keys and how to read them: which document is in
// force, the error of an invalid spec key, the stored form of an applied document
// (store-owned metadata carried over, generation bumped on spec changes). No I/O
// (new uids come from node:crypto).
import { randomUUID } from 'node:crypto';
import { messageOf } from '../errors.ts';
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
  const status = raw.statusText === undefined ? undefined : parseStatus(raw.statusText);
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
  const fits = (d: unknown): boolean => {
    const r = validateCluster(d);
    return r.ok && (raw.name === '' || r.cluster.metadata.name === raw.name);
  };
  if (raw.lastGoodText !== undefined) {
    const d = tryParse(raw.lastGoodText);
    if (fits(d)) return d as SwarmCluster;
  }
  if (raw.specText !== undefined) {
    const d = tryParse(raw.specText);
    if (fits(d)) {
      const c = d as SwarmCluster;
      return { ...c, metadata: { ...c.metadata, generation: c.metadata.generation ?? 1 } };
    }
  }
  return undefined;
}

/** The error of the spec key's document, when it is invalid (not in force). */
export function specErrorOf(raw: RawCluster): string | undefined {
  if (raw.specText === undefined) return undefined;
  let doc: unknown;
  try {
    doc = parseClusterText(raw.specText, `spec key of ${raw.name}`);
  } catch (err) {
    return messageOf(err);
  }
  const r = validateCluster(doc);
  if (r.ok) {
    if (r.cluster.metadata.name !== raw.name) {
      return `spec key of ${raw.name}: metadata.name is "${r.cluster.metadata.name}"; it must match the key's cluster name "${raw.name}"`;
    }
    return undefined;
  }
  return describeInvalid(doc, r.errors, `spec key of ${raw.name}`);
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
