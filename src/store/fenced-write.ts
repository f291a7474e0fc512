// Fenced writes: every controller write to the management etcd is a transaction that
// succeeds only while the writer's election key still exists at the create revision it
// had when the writer was elected (design rule 13). A deposed leader whose lease expired
// (or who resigned) finds its key gone or re-created at another revision, so its write
// fails with Conflict instead of racing the new leader.
import type { Etcd3 } from 'etcd3';
import { SwarmkeeperError, wrapError } from '../errors.ts';
import type { LeaderFence } from './port.ts';

export type FencedOp =
  | { readonly kind: 'put'; readonly key: string; readonly value: string }
  | { readonly kind: 'delete'; readonly key: string }
  /** Every key under `key` (a prefix). */
  | { readonly kind: 'deletePrefix'; readonly key: string };

/**
 * Applies `ops` atomically, guarded by `fence` when given (an unfenced write is for
 * tools like the CLI that never act on a cluster). Throws Conflict when the fence fails.
 */
export async function writeFenced(client: Etcd3, ops: readonly FencedOp[], fence: LeaderFence | undefined, context: string): Promise<void> {
  if (ops.length === 0) return;
  const calls = ops.map((op) => (op.kind === 'put' ? client.put(op.key).value(op.value) : op.kind === 'delete' ? client.delete().key(op.key) : client.delete().prefix(op.key)));
  let succeeded: boolean;
  try {
    if (!fence) {
      // Always true (a missing key has version 0): a plain multi-op transaction.
      await client.if(ops[0]!.key, 'Version', '>', -1).then(...calls).commit();
      return;
    }
    const res = await client.if(fence.key, 'Create', '==', fence.createRevision).then(...calls).commit();
    succeeded = res.succeeded;
  } catch (err) {
    throw wrapError(context, err);
  }
  if (!succeeded) {
    throw new SwarmkeeperError('Conflict', `${context}: leadership lost (the election key moved), write refused`, {
      details: { fenceKey: fence.key },
    });
  }
}

/**
 * Whether `fence` still proves leadership: its election key exists at its create
 * revision. For a write to a store that cannot take part in the etcd transaction (the
 * Kubernetes status subresource), checked just before that write.
 */
export function fenceHoldsIn(client: Etcd3): (fence: LeaderFence) => Promise<boolean> {
  return async (fence) => {
    try {
      const res = await client.kv.range({ key: Buffer.from(fence.key) });
      return res.kvs[0]?.create_revision === fence.createRevision;
    } catch (err) {
      throw wrapError(`reading the election key ${fence.key}`, err);
    }
  };
}
