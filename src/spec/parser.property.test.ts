// No input crashes the parser or the validator: every outcome is a value or a
// SpecInvalid error with a message. Random strings, random YAML-ish text, and random
// mutations of a valid document.
import fc from 'fast-check';
import { stringify } from 'yaml';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { anEc2Cluster } from '../../test/support/spec-fixtures.ts';
import { isSwarmkeeperError } from '../errors.ts';
import { formatCluster, parseClusterText } from './codec.ts';
import { SwarmClusterSchema } from './schema.ts';
import { validateCluster } from './validate.ts';

/** Parses and validates; fails the property on anything but a clean outcome. */
function parseAndValidate(text: string): void {
  let doc: unknown;
  try {
    doc = parseClusterText(text, 'fuzz.yaml');
  } catch (err) {
    expect(isSwarmkeeperError(err, 'SpecInvalid'), String(err)).toBe(true);
    expect((err as Error).message.startsWith('fuzz.yaml: ')).toBe(true);
    return;
  }
  checkValidator(doc);
}

function checkValidator(doc: unknown): void {
  const r = validateCluster(doc);
  if (r.ok) {
    // What is accepted is the document with its nulls pruned (as Kubernetes prunes them).
    expect(Value.Check(SwarmClusterSchema, r.cluster)).toBe(true);
  } else {
    expect(r.errors.length).toBeGreaterThan(0);
    for (const e of r.errors) {
      expect(e.path.length).toBeGreaterThan(0);
      expect(e.message.length).toBeGreaterThan(0);
    }
  }
}

const yamlish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'apiVersion: ',
        'kind: ',
        'spec:',
        '  managers:',
        '    count: ',
        '- ',
        '---',
        '&a ',
        '*a',
        '!!binary ',
        '{',
        '}',
        '[',
        ']',
        ': ',
        '"',
        "'",
        '#',
        '\t',
        '  ',
        '\n',
        '? ',
        '|',
        '>',
        '%YAML 1.2',
        '!!str',
        '<<: *a',
      ),
      fc.string({ maxLength: 8 }),
      fc.integer().map(String),
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(''));

/** Every path into a JSON value, as arrays of keys. */
function pathsOf(v: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...pathsOf(x, [...prefix, i])));
  else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) out.push(...pathsOf(x, [...prefix, k]));
  return out;
}

function mutate(doc: unknown, path: Array<string | number>, value: unknown, remove: boolean): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let node = copy;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (remove) delete node[last];
  else node[last] = value;
  return copy;
}

const base = anEc2Cluster({
  spec: {
    healing: { maxUnhealthy: '40%' },
    rollout: { maxSurge: 1 },
    managers: { count: 3, units: [{ name: 'vault.service', dropIns: [{ name: 'a.conf', content: 'x' }] }] },
  },
});
const basePaths = pathsOf(base);

describe('parser and validator never crash', () => {
  it('on random strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), parseAndValidate), { numRuns: 500 });
  });

  it('on random YAML-ish text', () => {
    fc.assert(fc.property(yamlish, parseAndValidate), { numRuns: 1000 });
  });

  it('on random values serialised as YAML', () => {
    fc.assert(
      fc.property(fc.anything(), (v) => parseAndValidate(stringify(v) ?? '')),
      { numRuns: 300 },
    );
  });

  it('on random mutations of a valid document (in memory and through YAML)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...basePaths), fc.jsonValue({ maxDepth: 3 }), fc.boolean(), (path, value, remove) => {
        const doc = mutate(base, path, value, remove);
        checkValidator(doc);
        parseAndValidate(formatCluster(doc, 'yaml'));
      }),
      { numRuns: 1000 },
    );
  });

  it('on a valid document with random bytes overwritten', () => {
    const text = formatCluster(base, 'yaml');
    fc.assert(
      fc.property(fc.nat(text.length - 1), fc.string({ minLength: 1, maxLength: 4 }), (at, s) => {
        parseAndValidate(text.slice(0, at) + s + text.slice(at + s.length));
      }),
      { numRuns: 1000 },
    );
  });

  it('round-trips valid documents through YAML and JSON', () => {
    expect(validateCluster(base).ok).toBe(true);
    expect(parseClusterText(formatCluster(base, 'yaml'), 'x')).toEqual(base);
    expect(parseClusterText(formatCluster(base, 'json'), 'x')).toEqual(base);
  });
});
