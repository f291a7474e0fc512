import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeEndpoints, encodeTokens, endpointsOf, parseClaim, parseEndpoints, parseTokens, sameEndpoints } from './cluster-endpoints.ts';

describe('cluster endpoints records', () => {
  it('encode and parse back, in a stable order', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.ipV4(), { minLength: 1, maxLength: 7 }), (addrs) => {
        const e = endpointsOf(addrs);
        expect(parseEndpoints(encodeEndpoints(e))).toEqual(e);
        expect(sameEndpoints(e, endpointsOf([...addrs].reverse(), 'later'))).toBe(true);
      }),
    );
  });
  it('names the key and field of a malformed record', () => {
    expect(() => parseEndpoints('{"etcdClientURLs":"x","swarmManagers":[]}', '/sk/clusters/a/endpoints')).toThrow(
      '/sk/clusters/a/endpoints.etcdClientURLs: expected an array of strings',
    );
    expect(() => parseClaim('[]', 'claim')).toThrow('claim: expected a JSON object');
  });
  it('never quotes a token in an error', () => {
    const bad = '{"worker":"SWMTKN-1-secret","manager":""}';
    expect(() => parseTokens(bad)).toThrow(/expected \{worker, manager\}/);
    try {
      parseTokens(bad);
    } catch (err) {
      expect((err as Error).message).not.toContain('SWMTKN');
    }
    expect(parseTokens(encodeTokens({ worker: 'w', manager: 'm' }))).toEqual({ worker: 'w', manager: 'm' });
  });
});
