import { describe, expect, it } from 'vitest';
import { canonicalJson, fnv1a64Hex, nodeConfigHash } from './config-hash.ts';
import { resolveSpec } from './defaults.ts';

const base = resolveSpec('prod', 1, { managers: { count: 3 }, workers: { count: 2 }, provider: { local: {} } });

describe('nodeConfigHash', () => {
  it('does not depend on key order', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe(canonicalJson({ a: [{ c: 3, d: 2 }], b: 1 }));
  });
  it('changes with the instance type of the role, not with counts', () => {
    const bigger = resolveSpec('prod', 2, { managers: { count: 5 }, workers: { count: 9 }, provider: { local: {} } });
    expect(nodeConfigHash(bigger, 'worker')).toBe(nodeConfigHash(base, 'worker'));
    const other = resolveSpec('prod', 2, {
      managers: { count: 3 },
      workers: { count: 2, instanceType: 'm5.large' },
      provider: { local: {} },
    });
    expect(nodeConfigHash(other, 'worker')).not.toBe(nodeConfigHash(base, 'worker'));
    expect(nodeConfigHash(other, 'manager')).toBe(nodeConfigHash(base, 'manager'));
  });
  it('is the FNV-1a 64 reference value for a known input', () => {
    // Reference vector: FNV-1a 64 of "a" is af63dc4c8601ec8c.
    expect(fnv1a64Hex('a')).toBe('af63dc4c8601ec8c');
  });
});
