import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseBootstrapToken, sameDigest } from './bootstrap-token-format.ts';

describe('bootstrap token format', () => {
  it('parses skb1.<16 hex>.<32 hex> and nothing else', () => {
    expect(parseBootstrapToken(`skb1.${'a'.repeat(16)}.${'b'.repeat(32)}`)).toEqual({ id: 'a'.repeat(16), secret: 'b'.repeat(32) });
    for (const bad of [
      '',
      'skb1',
      `skb2.${'a'.repeat(16)}.${'b'.repeat(32)}`,
      `skb1.${'a'.repeat(15)}.${'b'.repeat(32)}`,
      `skb1.${'A'.repeat(16)}.${'b'.repeat(32)}`,
      `skb1.${'a'.repeat(16)}.${'b'.repeat(33)}`,
    ]) {
      expect(parseBootstrapToken(bad)).toBeUndefined();
    }
  });

  it('compares digests exactly (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-f]{64}$/), fc.stringMatching(/^[0-9a-f]{64}$/), (a, b) => {
        expect(sameDigest(a, b)).toBe(a === b);
      }),
    );
    expect(sameDigest('', '')).toBe(false);
    expect(sameDigest('ab', 'abab')).toBe(false);
  });
});
