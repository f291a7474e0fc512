// Writing and reading the recovery order (src/protocol/recovery-order.ts) in the
// management etcd, for `swarmkeeper recover` and the controller's observation.
import {
  assembleSnapshot,
  parseRecoveryOrder,
  partKey,
  recoveryLayout,
  splitSnapshot,
  type RecoveryOrder,
  type RecoveryPhase,
} from '../protocol/recovery-order.ts';
import type { FencedKv } from '../store/fenced-kv.ts';
import { clusterKeys } from '../store/keys.ts';

export function recoveryKeys(prefix: string, cluster: string) {
  return recoveryLayout(clusterKeys(prefix, cluster).recovery);
}

/**
 * Writes the snapshot's parts, then the order (so an order never names parts that are
 * not there yet). Any earlier order and parts are replaced.
 */
export async function writeRecoveryOrder(
  kv: FencedKv,
  prefix: string,
  cluster: string,
  order: RecoveryOrder,
  snapshot: Uint8Array,
): Promise<void> {
  const keys = recoveryKeys(prefix, cluster);
  await kv.write([{ kind: 'deletePrefix', key: keys.base }], undefined, 'clearing an earlier recovery order');
  const parts = splitSnapshot(snapshot, order);
  for (const [i, value] of parts.entries()) {
    await kv.write(
      [{ kind: 'put', key: partKey(keys.parts, i), value }],
      undefined,
      `storing part ${i + 1} of ${parts.length} of the etcd snapshot`,
    );
  }
  await kv.write([{ kind: 'put', key: keys.order, value: JSON.stringify(order) }], undefined, 'writing the recovery order');
}

export async function setRecoveryPhase(
  kv: FencedKv,
  prefix: string,
  cluster: string,
  order: RecoveryOrder,
  phase: RecoveryPhase,
): Promise<RecoveryOrder> {
  const next = { ...order, phase };
  await kv.write(
    [{ kind: 'put', key: recoveryKeys(prefix, cluster).order, value: JSON.stringify(next) }],
    undefined,
    `moving the recovery order to ${phase}`,
  );
  return next;
}

export async function deleteRecoveryOrder(kv: FencedKv, prefix: string, cluster: string): Promise<void> {
  await kv.write([{ kind: 'deletePrefix', key: recoveryKeys(prefix, cluster).base }], undefined, 'removing the recovery order');
}

/** The order, or undefined when there is none. A malformed order is Corrupt (never guessed at). */
export async function readRecoveryOrder(kv: Pick<FencedKv, 'get'>, prefix: string, cluster: string): Promise<RecoveryOrder | undefined> {
  const key = recoveryKeys(prefix, cluster).order;
  const text = await kv.get(key);
  return text === undefined ? undefined : parseRecoveryOrder(text, key);
}

/** The order's snapshot, reassembled and checked against the order (Corrupt otherwise). */
export async function readRecoverySnapshot(
  kv: Pick<FencedKv, 'getPrefix'>,
  prefix: string,
  cluster: string,
  order: RecoveryOrder,
): Promise<Buffer> {
  const keys = recoveryKeys(prefix, cluster);
  return assembleSnapshot(order, new Map(await kv.getPrefix(keys.parts)), keys.parts, `recovery snapshot of ${cluster}`);
}
