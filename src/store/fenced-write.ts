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
 * Compare-and-swap for a record several writers update (read, change, write back): the
 * write happens only while `key` still holds `value` (undefined: the key is absent).
 */
export interface WriteGuard {
  readonly key: string;
  readonly value: string | undefined;
}

/**
 * Applies `ops` atomically, guarded by `fence` when given (an unfenced write is for
 * tools like the CLI that never act on a cluster) and by `guard` when given. Throws
 * Conflict when either fails; a failed guard has `details.guardKey`: read again and retry.
 */
export async function writeFenced(
  client: Etcd3,
  ops: readonly FencedOp[],
  fence: LeaderFence | undefined,
  context: string,
  guard?: WriteGuard,
): Promise<void> {
  if (ops.length === 0) return;
  const calls = ops.map((op) =>
    op.kind === 'put'
      ? client.put(op.key).value(op.value)
      : op.kind === 'delete'
        ? client.delete().key(op.key)
        : client.delete().prefix(op.key),
  );
  let succeeded: boolean;
  try {
    // Without a fence the first compare is always true (a missing key has version 0):
    // a plain multi-op transaction, guarded or not.
    const fenced = fence ? client.if(fence.key, 'Create', '==', fence.createRevision) : client.if(ops[0]!.key, 'Version', '>', -1);
    const txn = !guard
      ? fenced
      : guard.value === undefined
        ? fenced.and(guard.key, 'Create', '==', 0)
        : fenced.and(guard.key, 'Value', '==', guard.value);
    succeeded = (await txn.then(...calls).commit()).succeeded;
  } catch (err) {
    throw wrapError(context, err);
  }
  if (succeeded) return;
  if (
    guard &&
    ((await client
      .get(guard.key)
      .string()
      .catch(() => null)) ?? undefined) !== guard.value
  ) {
    throw new SwarmkeeperError('Conflict', `${context}: ${guard.key} changed meanwhile, write refused`, {
      details: { guardKey: guard.key },
    });
  }
  throw new SwarmkeeperError('Conflict', `${context}: leadership lost (the election key moved), write refused`, {
    details: { fenceKey: fence?.key },
  });
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
