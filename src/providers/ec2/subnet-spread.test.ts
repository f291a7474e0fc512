import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Instance } from '../../model/snapshot.ts';
import { callClientToken, orderSubnets, splitBatch, subnetPopulation } from './subnet-spread.ts';

function anInstance(o: Partial<Instance> = {}): Instance {
  return { id: 'i-1', role: 'worker', state: 'running', launchedAt: 0, configHash: 'h', tags: {}, ...o };
}

const S = ['subnet-a', 'subnet-b', 'subnet-c'];

describe('subnet spread', () => {
  it('counts only live instances of the role in the spec subnets', () => {
    const pop = subnetPopulation(
      S,
      [
        anInstance({ subnetId: 'subnet-a' }),
        anInstance({ subnetId: 'subnet-a', state: 'terminated' }),
        anInstance({ subnetId: 'subnet-b', role: 'manager' }),
        anInstance({ subnetId: 'subnet-z' }),
      ],
      'worker',
    );
    expect([...pop]).toEqual([
      ['subnet-a', 1],
      ['subnet-b', 0],
      ['subnet-c', 0],
    ]);
  });

  it('puts a single launch into the least-populated subnet, ties by spec order, preferred first', () => {
    expect(
      splitBatch(
        1,
        S,
        new Map([
          ['subnet-a', 2],
          ['subnet-b', 1],
          ['subnet-c', 1],
        ]),
      ),
    ).toEqual([{ subnetId: 'subnet-b', count: 1 }]);
    expect(
      splitBatch(
        1,
        S,
        new Map([
          ['subnet-a', 1],
          ['subnet-b', 1],
          ['subnet-c', 1],
        ]),
        'subnet-c',
      ),
    ).toEqual([{ subnetId: 'subnet-c', count: 1 }]);
    expect(
      orderSubnets(
        S,
        new Map([
          ['subnet-a', 1],
          ['subnet-b', 0],
          ['subnet-c', 0],
        ]),
        'eu-west-1a',
        new Map([['subnet-a', 'eu-west-1a']]),
      )[0],
    ).toBe('subnet-a');
  });

  it('levels a batch across subnets (property: final populations differ by at most one, or none was lowered)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(5), { minLength: 3, maxLength: 3 }), fc.integer({ min: 1, max: 20 }), (start, count) => {
        const pop = new Map(S.map((s, i) => [s, start[i] ?? 0]));
        const chunks = splitBatch(count, S, pop);
        expect(chunks.reduce((n, c) => n + c.count, 0)).toBe(count);
        const after = S.map((s) => (pop.get(s) ?? 0) + (chunks.find((c) => c.subnetId === s)?.count ?? 0));
        const touched = S.filter((s) => chunks.some((c) => c.subnetId === s)).map((s) => after[S.indexOf(s)] ?? 0);
        // Every subnet that received instances ends within one of the lowest final population.
        expect(Math.max(...touched) - Math.min(...after)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('derives call tokens that fit 64 ASCII characters and change with subnet and count', () => {
    const long = 'x'.repeat(64);
    const t = callClientToken(long, 'subnet-a', 3);
    expect(t.length).toBeLessThanOrEqual(64);
    expect(t).toBe(callClientToken(long, 'subnet-a', 3));
    expect(t).not.toBe(callClientToken(long, 'subnet-b', 3));
    expect(t).not.toBe(callClientToken(long, 'subnet-a', 2));
    expect(() => callClientToken('bad token', 'subnet-a', 1)).toThrow(/printable ASCII/);
  });
});
