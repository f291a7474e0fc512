import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { aSwarmCluster } from '../../test/support/spec-fixtures.ts';
import { formatCluster, formatClusters, loadClusterText, parseClusterText } from './codec.ts';

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a throw');
}

describe('parseClusterText', () => {
  it('reads YAML and JSON alike', () => {
    const doc = aSwarmCluster();
    expect(parseClusterText(formatCluster(doc, 'yaml'), 'a.yaml')).toEqual(doc);
    expect(parseClusterText(formatCluster(doc, 'json'), 'a.json')).toEqual(doc);
  });

  it('gives line and column of a syntax error', () => {
    const text = 'apiVersion: swarmkeeper.dev/v1alpha1\nkind: SwarmCluster\nspec:\n  managers: [1, 2\n';
    expect(messageOf(() => parseClusterText(text, 'c.yaml'))).toMatch(/^c\.yaml: YAML syntax error at line \d+, column \d+: /);
    expect(messageOf(() => parseClusterText('a: "open', 'c.yaml'))).toBe(
      'c.yaml: YAML syntax error at line 1, column 9: Missing closing "quote',
    );
    expect(messageOf(() => parseClusterText('{"a": 1, "a": 2}', 'c.json'))).toMatch(/line 1, column \d+: Map keys must be unique/);
  });

  it('refuses several documents and empty input', () => {
    expect(messageOf(() => parseClusterText('a: 1\n---\nb: 2\n', 'm.yaml'))).toBe(
      'm.yaml: holds 2 YAML documents (separated by ---); give one SwarmCluster per file',
    );
    expect(messageOf(() => parseClusterText('', 'e.yaml'))).toMatch(/is empty/);
    expect(messageOf(() => parseClusterText('# only a comment\n---\n', 'e.yaml'))).toMatch(/is empty/);
  });

  it('caps aliases (billion laughs)', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 8; i++)
      lines.push(
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(97 + i)}`)
          .join(', ')}]`,
      );
    expect(messageOf(() => parseClusterText(lines.join('\n'), 'bomb.yaml'))).toMatch(
      /bomb\.yaml: uses more than 16 YAML aliases \(limit maxAliases 16\)/,
    );
    // Under the gate's alias count, the parser's own expansion cap still holds.
    const few = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b]',
      'd: &d [*c, *c, *c, *c]',
      'e: [*d, *d, *d]',
    ];
    expect(messageOf(() => parseClusterText(few.join('\n'), 'bomb.yaml'))).toMatch(/bomb\.yaml: cannot be read: .*alias/i);
  });

  it('refuses, before parsing and in milliseconds, a document over a cost limit, naming the limit', () => {
    const labels = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, 'v']));
    const cases: [string, RegExp][] = [
      [
        JSON.stringify({ ...aSwarmCluster(), metadata: { name: 'prod', labels } }),
        /more than 256 entries \(limit maxCollectionEntries 256/,
      ],
      [
        `labels:\n${Object.keys(labels)
          .map((k) => `  ${k}: v`)
          .join('\n')}\n`,
        /limit maxCollectionEntries 256/,
      ],
      ['['.repeat(200_000), /nests more than 24 levels deep \(limit maxDepth 24\)/],
      ['- '.repeat(200_000), /limit maxDepth 24/],
      [`a: "${'x'.repeat(600_000)}"`, /is 600005 characters long; at most 524288/],
      [
        `${Array.from({ length: 20 }, (_, i) => `m${i}: [${Array(250).fill('1').join(',')}]`).join('\n')}\n`,
        /more than 4096 entries in all \(limit maxEntries 4096\)/,
      ],
    ];
    for (const [text, message] of cases) {
      const started = performance.now();
      expect(messageOf(() => parseClusterText(text, 'big.yaml'))).toMatch(message);
      expect(performance.now() - started).toBeLessThan(1000);
    }
  });

  it('reads JSON without the YAML parser and still refuses its duplicate keys with a position', () => {
    expect(parseClusterText('{"a": {"b": [1, {"c": "d:e"}]}, "f": "\\"g\\":"}', 'x.json')).toEqual({
      a: { b: [1, { c: 'd:e' }] },
      f: '"g":',
    });
    expect(messageOf(() => parseClusterText('{"a": {"b": 1,\n "b": 2}}', 'x.json'))).toMatch(
      /x\.json: YAML syntax error at line 2, column \d+: Map keys must be unique/,
    );
    expect(messageOf(() => parseClusterText('a: 1\nb:\n  c: 1\n  c: 2\n', 'x.yaml'))).toBe(
      'x.yaml: YAML syntax error at line 4, column 3: Map keys must be unique',
    );
  });

  it('loadClusterText validates after parsing', () => {
    expect(loadClusterText(formatCluster(aSwarmCluster(), 'yaml'), 'x').metadata.name).toBe('prod');
    const bad = formatCluster({ ...aSwarmCluster(), spec: { ...aSwarmCluster().spec, managers: { count: 2 } } }, 'yaml');
    expect(messageOf(() => loadClusterText(bad, 'x.yaml'))).toContain('spec.managers.count: must be one of 1, 3, 5, 7');
  });
});

describe('formatCluster', () => {
  it('writes apiVersion, kind, metadata, spec, status in that order', () => {
    const doc = {
      status: { phase: 'Ready' },
      spec: aSwarmCluster().spec,
      metadata: { name: 'x' },
      kind: 'SwarmCluster',
      apiVersion: 'swarmkeeper.dev/v1alpha1',
    };
    expect(Object.keys(parse(formatCluster(doc, 'yaml')) as object)).toEqual(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
    expect(Object.keys(JSON.parse(formatCluster(doc, 'json')) as object)).toEqual(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  });

  it('lists several objects like kubectl', () => {
    const json = JSON.parse(formatClusters([aSwarmCluster(), aSwarmCluster({ name: 'b' })], 'json')) as { kind: string; items: unknown[] };
    expect(json.kind).toBe('List');
    expect(json.items).toHaveLength(2);
    expect(formatClusters([aSwarmCluster(), aSwarmCluster({ name: 'b' })], 'yaml').split('---\n')).toHaveLength(2);
  });
});
