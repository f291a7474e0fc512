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
    expect(messageOf(() => parseClusterText('a: "open', 'c.yaml'))).toBe('c.yaml: YAML syntax error at line 1, column 9: Missing closing "quote');
    expect(messageOf(() => parseClusterText('{"a": 1, "a": 2}', 'c.json'))).toMatch(/line 1, column \d+: Map keys must be unique/);
  });

  it('refuses several documents and empty input', () => {
    expect(messageOf(() => parseClusterText('a: 1\n---\nb: 2\n', 'm.yaml'))).toBe('m.yaml: holds 2 YAML documents (separated by ---); give one SwarmCluster per file');
    expect(messageOf(() => parseClusterText('', 'e.yaml'))).toMatch(/is empty/);
    expect(messageOf(() => parseClusterText('# only a comment\n---\n', 'e.yaml'))).toMatch(/is empty/);
  });

  it('caps aliases (billion laughs)', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 8; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`);
    expect(messageOf(() => parseClusterText(lines.join('\n'), 'bomb.yaml'))).toMatch(/bomb\.yaml: cannot be read: .*alias/i);
  });

  it('loadClusterText validates after parsing', () => {
    expect(loadClusterText(formatCluster(aSwarmCluster(), 'yaml'), 'x').metadata.name).toBe('prod');
    const bad = formatCluster({ ...aSwarmCluster(), spec: { ...aSwarmCluster().spec, managers: { count: 2 } } }, 'yaml');
    expect(messageOf(() => loadClusterText(bad, 'x.yaml'))).toContain('spec.managers.count: must be one of 1, 3, 5, 7');
  });
});

describe('formatCluster', () => {
  it('writes apiVersion, kind, metadata, spec, status in that order', () => {
    const doc = { status: { phase: 'Ready' }, spec: aSwarmCluster().spec, metadata: { name: 'x' }, kind: 'SwarmCluster', apiVersion: 'swarmkeeper.dev/v1alpha1' };
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
