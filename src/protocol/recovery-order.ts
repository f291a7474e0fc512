// The recovery order: what `swarmkeeper recover` tells the node agents through the
// management etcd, under keys.recovery (the layout below is relative to that prefix):
//   order              the order (JSON, RecoveryOrder)
//   etcd-snapshot/NNNN the verified etcd snapshot, base64, in parts
// The snapshot travels through the management etcd because that is what a local node's
// agent can already read; parts keep each value well under etcd's request size limit.
// Access to keys.recovery is as sensitive as the cluster's etcd itself: protect it with
// the same role as keys.secrets.
//
// Phases: 'fencing' (the CLI terminates the lost nodes and resets the join records; the
// controller plans nothing), then 'founding' (the controller launches managers as for a
// new cluster; the one that claims initialisation restores the snapshot). The CLI
// deletes the whole prefix once the cluster is Ready again.
import { createHash } from 'node:crypto';
import { SwarmkeeperError } from '../errors.ts';

export type RecoveryPhase = 'fencing' | 'founding';

export interface RecoveryOrder {
  /** The backup restored (its name, as `backup list` shows it). */
  readonly backup: string;
  readonly phase: RecoveryPhase;
  readonly requestedAt: string;
  readonly snapshotSha256: string;
  readonly snapshotBytes: number;
  readonly parts: number;
  readonly etcdRevision?: number;
}

/** Raw bytes per part: 768 KiB is ~1 MiB of base64, under etcd's 1.5 MiB request limit. */
export const PART_BYTES = 768 * 1024;

/** Key names under the recovery prefix (keys.recovery). */
export function recoveryLayout(base: string) {
  return { base, order: `${base}order`, parts: `${base}etcd-snapshot/` };
}

export function partKey(partsPrefix: string, i: number): string {
  return `${partsPrefix}${String(i).padStart(4, '0')}`;
}

function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function orderFor(backup: string, snapshot: Uint8Array, requestedAt: string, etcdRevision?: number): RecoveryOrder {
  return {
    backup,
    phase: 'fencing',
    requestedAt,
    snapshotSha256: sha256Hex(snapshot),
    snapshotBytes: snapshot.byteLength,
    parts: Math.max(1, Math.ceil(snapshot.byteLength / PART_BYTES)),
    ...(etcdRevision === undefined ? {} : { etcdRevision }),
  };
}

/** The snapshot as the base64 parts the order names, in order. */
export function splitSnapshot(snapshot: Uint8Array, order: RecoveryOrder): string[] {
  return Array.from({ length: order.parts }, (_, i) =>
    Buffer.from(snapshot.subarray(i * PART_BYTES, (i + 1) * PART_BYTES)).toString('base64'),
  );
}

/** Reassembles the snapshot from its parts and checks its size and SHA-256: Corrupt when either differs. */
export function assembleSnapshot(order: RecoveryOrder, partsByKey: ReadonlyMap<string, string>, partsPrefix: string, what: string): Buffer {
  const buffers: Buffer[] = [];
  for (let i = 0; i < order.parts; i++) {
    const part = partsByKey.get(partKey(partsPrefix, i));
    if (part === undefined) throw new SwarmkeeperError('Corrupt', `${what}: part ${i + 1} of ${order.parts} is missing`);
    buffers.push(Buffer.from(part, 'base64'));
  }
  const data = Buffer.concat(buffers);
  if (data.byteLength !== order.snapshotBytes || sha256Hex(data) !== order.snapshotSha256) {
    throw new SwarmkeeperError(
      'Corrupt',
      `${what}: ${data.byteLength} bytes whose SHA-256 does not match the order (${order.snapshotBytes} bytes expected): not restored`,
    );
  }
  return data;
}

export function parseRecoveryOrder(text: string, key: string): RecoveryOrder {
  let v: Partial<RecoveryOrder> | null;
  try {
    v = JSON.parse(text) as Partial<RecoveryOrder> | null;
  } catch {
    throw new SwarmkeeperError('Corrupt', `${key}: not JSON`);
  }
  const ok =
    v !== null &&
    typeof v === 'object' &&
    typeof v.backup === 'string' &&
    (v.phase === 'fencing' || v.phase === 'founding') &&
    typeof v.requestedAt === 'string' &&
    typeof v.snapshotSha256 === 'string' &&
    Number.isInteger(v.snapshotBytes) &&
    Number.isInteger(v.parts) &&
    (v.parts ?? 0) >= 1;
  if (!ok)
    throw new SwarmkeeperError(
      'Corrupt',
      `${key}: expected {backup, phase: fencing|founding, requestedAt, snapshotSha256, snapshotBytes, parts}`,
    );
  return v as RecoveryOrder;
}
