import { describe, expect, it } from 'vitest';
import { MemoryFencedKv } from '../store/memory-kv.ts';
import { orderFor, parseRecoveryOrder, PART_BYTES } from '../protocol/recovery-order.ts';
import { readRecoveryOrder, readRecoverySnapshot, recoveryKeys, writeRecoveryOrder } from './recovery-order-kv.ts';

describe('the recovery order and its snapshot in the management etcd', () => {
  it('round-trips a snapshot larger than one chunk, and refuses a damaged one', async () => {
    const kv = new MemoryFencedKv();
    const snapshot = Buffer.alloc(PART_BYTES * 2 + 17, 7);
    const order = orderFor('prod-20261201t120000000z-scheduled', snapshot, '2026-12-01T12:00:00.000Z', 42);
    expect(order.parts).toBe(3);
    await writeRecoveryOrder(kv, '/sk', 'prod', order, snapshot);
    const read = await readRecoveryOrder(kv, '/sk', 'prod');
    expect(read).toEqual(order);
    expect((await readRecoverySnapshot(kv, '/sk', 'prod', order)).equals(snapshot)).toBe(true);

    const keys = recoveryKeys('/sk', 'prod');
    await kv.write([{ kind: 'put', key: `${keys.parts}0001`, value: Buffer.from('short').toString('base64') }], undefined, 'damaging');
    await expect(readRecoverySnapshot(kv, '/sk', 'prod', order)).rejects.toMatchObject({ code: 'Corrupt' });
    await kv.write([{ kind: 'delete', key: `${keys.parts}0002` }], undefined, 'damaging');
    await expect(readRecoverySnapshot(kv, '/sk', 'prod', order)).rejects.toThrow(/part 3 of 3 is missing/);
  });

  it('refuses a malformed order rather than guess', () => {
    expect(() => parseRecoveryOrder('{"backup":"b","phase":"restoring"}', 'k')).toThrow(/k: expected/);
    expect(() => parseRecoveryOrder('nope', 'k')).toThrow(/not JSON/);
  });
});
