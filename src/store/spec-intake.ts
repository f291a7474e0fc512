// Spec intake: the controller calls ingestSpec() for a cluster before each reconcile.
// The spec key may have been written by anything (`swarmkeeper apply`, or a plain
// `etcdctl put`). A valid document different from last-good is promoted to last-good
// (generation + 1 when the spec changed; uid and creationTimestamp carried over) and
// SpecValid=True is recorded; an invalid one leaves last-good in force and records
// SpecValid=False with the error, so `swarmkeeper get` and the status show why the
// change is not being acted on.
//
// Ordering: last-good is written before the status, both conditional: the promotion
// only if neither key moved since they were read (else the next call sees the newer
// document), the status under the leader's fence when one is given.
import { setCondition, REASONS, getCondition } from '../spec/conditions.ts';
import type { SwarmCluster, SwarmClusterStatus } from '../spec/schema.ts';
import { composeStored, inForce, sameContent, specErrorOf, type EtcdClusterStore } from './etcd-store.ts';
import { readStoredDoc } from './stored-doc.ts';
import type { LeaderFence } from './port.ts';

export type IntakeResult =
  | { readonly state: 'absent' }
  | { readonly state: 'unchanged'; readonly generation: number }
  | { readonly state: 'promoted'; readonly generation: number }
  | { readonly state: 'invalid'; readonly error: string; readonly generation?: number }
  | { readonly state: 'raced' };

/** Longest error text kept in a condition message (status must stay small). */
const MAX_MESSAGE = 2000;

export async function ingestSpec(store: EtcdClusterStore, name: string, now: number, fence?: LeaderFence): Promise<IntakeResult> {
  const raw = await store.readRaw(name);
  if (raw.specText === undefined) return { state: 'absent' };
  const status = parseStatus(raw.statusText);
  const lastGood = lastGoodOf(name, raw.lastGoodText);
  const error = specErrorOf(raw);

  if (error !== undefined) {
    const message = truncate(
      `${error}${lastGood ? ` (generation ${lastGood.metadata.generation ?? 0} stays in force)` : ' (no valid spec was ever stored)'}`,
    );
    await writeSpecValid(store, name, status, { status: 'False', reason: REASONS.SpecRejected, message }, now, fence);
    return { state: 'invalid', error, ...(lastGood ? { generation: lastGood.metadata.generation ?? 0 } : {}) };
  }

  // Valid (no error above): the reading is cached, so this parses nothing again.
  const incoming = readStoredDoc(name, 'spec', raw.specText).cluster as SwarmCluster;
  let generation = lastGood?.metadata.generation ?? 0;
  let state: 'unchanged' | 'promoted' = 'unchanged';
  if (!lastGood || !sameContent(lastGood, incoming)) {
    const next = composeStored(incoming, lastGood, () => now);
    if (!(await store.promote(raw, next))) return { state: 'raced' };
    generation = next.metadata.generation ?? 1;
    state = 'promoted';
  }
  await writeSpecValid(
    store,
    name,
    status,
    { status: 'True', reason: REASONS.SpecAccepted, message: `generation ${generation} accepted` },
    now,
    fence,
  );
  return { state, generation };
}

async function writeSpecValid(
  store: EtcdClusterStore,
  name: string,
  status: SwarmClusterStatus,
  input: { status: 'True' | 'False'; reason: typeof REASONS.SpecAccepted | typeof REASONS.SpecRejected; message: string },
  now: number,
  fence: LeaderFence | undefined,
): Promise<void> {
  const previous = getCondition(status.conditions, 'SpecValid');
  if (previous && previous.status === input.status && previous.reason === input.reason && previous.message === input.message) return;
  const conditions = setCondition(status.conditions, { type: 'SpecValid', ...input }, now);
  await store.writeStatus(name, { ...status, conditions }, fence);
}

function lastGoodOf(name: string, text: string | undefined): SwarmCluster | undefined {
  if (text === undefined) return undefined;
  return inForce({ name, lastGoodText: text, specRevision: '0', lastGoodRevision: '0' });
}

function parseStatus(text: string | undefined): SwarmClusterStatus {
  if (text === undefined) return {};
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as SwarmClusterStatus) : {};
  } catch {
    return {};
  }
}

function truncate(s: string): string {
  return s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE - 1)}…` : s;
}
