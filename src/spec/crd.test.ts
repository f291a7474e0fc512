// The CRD and the TypeScript validator must agree. Three proofs:
// 1. the committed crds/swarmcluster.yaml is exactly what crd.ts generates;
// 2. the CRD's openAPIV3Schema, run by ajv the way the API server applies it (strict
//    field validation, group/version/kind from the CRD), gives the same verdict as
//    validateCluster() on a corpus of valid and invalid documents;
// 3. the rules JSON Schema cannot state exist in the CRD as CEL rules / list-map keys
//    (ajv cannot run CEL: for those documents the test asserts the TS verdict and the
//    presence of the CRD rule instead).
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { aSwarmCluster, anEc2Cluster, withField } from '../../test/support/spec-fixtures.ts';
import { INVALID_DOCS, VALID_DOCS } from '../../test/support/crd-corpus.ts';
import { parseClusterText } from './codec.ts';
import { buildCrd, renderCrdYaml, toStructural, type JsonSchemaProps } from './crd.ts';
import { validateCluster } from './validate.ts';
import { CROSS_FIELD_RULES } from './rules.ts';

const committed = readFileSync(new URL('../../crds/swarmcluster.yaml', import.meta.url), 'utf8');
const crd = parse(committed) as {
  spec: { group: string; names: { kind: string }; versions: Array<{ name: string; schema: { openAPIV3Schema: JsonSchemaProps } }> };
};
const version = crd.spec.versions[0] as { name: string; schema: { openAPIV3Schema: JsonSchemaProps } };
const specProps = (
  version.schema.openAPIV3Schema as {
    properties: { spec: { properties: Record<string, { properties: Record<string, JsonSchemaProps> }> } };
  }
).properties.spec.properties;

/** Kubernetes' strict field validation (kubectl's default): unknown fields are errors. */
function strictFields(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strictFields);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = strictFields(v);
  if (out.type === 'object' && out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

function strictSchema(root: JsonSchemaProps): JsonSchemaProps {
  const strict = strictFields(root) as { properties: { metadata: JsonSchemaProps } };
  // metadata is ObjectMeta: the API server validates it itself (labels, annotations, ...).
  delete strict.properties.metadata.additionalProperties;
  return strict as unknown as JsonSchemaProps;
}

// strictTypes off: an int-or-string node carries maxLength without a single type.
const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
for (const kw of ['x-kubernetes-int-or-string', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-validations'])
  ajv.addKeyword(kw);
const schemaCheck = ajv.compile(strictSchema(version.schema.openAPIV3Schema));

/** The schema node at a dotted crdPath (`spec.provider.ec2.tags`, `[]` for items). */
function schemaAt(root: JsonSchemaProps, path: string): JsonSchemaProps {
  let node = root;
  for (const seg of path.split('.')) {
    const name = seg.replace(/\[\]$/, '');
    node = (node.properties as Record<string, JsonSchemaProps>)[name] as JsonSchemaProps;
    if (seg.endsWith('[]')) node = node.items as JsonSchemaProps;
  }
  return node;
}

/** The API server prunes nulls before validating (no field of ours is nullable). */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([, x]) => x !== null)
      .map(([k, x]) => [k, withoutNulls(x)]),
  );
}

function crdAccepts(doc: unknown): boolean {
  const d = doc as Record<string, unknown> | null;
  if (typeof d !== 'object' || d === null || Array.isArray(d)) return false;
  if (d.apiVersion !== `${crd.spec.group}/${version.name}` || d.kind !== crd.spec.names.kind) return false;
  return schemaCheck(doc);
}

/** swarmkeeper's reading of a corpus document: parsed as YAML 1.2, then validated. */
function swarmkeeperAccepts(text: string): boolean {
  try {
    return validateCluster(parseClusterText(text, 'corpus')).ok;
  } catch {
    return false;
  }
}

describe('crds/swarmcluster.yaml', () => {
  it('is what src/spec/crd.ts generates (run `npm run generate:crd` after a schema change)', () => {
    expect(committed).toBe(renderCrdYaml());
  });

  it('is a structural apiextensions.k8s.io/v1 CRD with a status subresource and printer columns', () => {
    const c = buildCrd() as { apiVersion: string; spec: { versions: Array<Record<string, unknown>> } };
    expect(c.apiVersion).toBe('apiextensions.k8s.io/v1');
    const v = c.spec.versions[0] as Record<string, unknown>;
    expect(v.subresources).toEqual({ status: {} });
    expect((v.additionalPrinterColumns as Array<{ name: string }>).map((p) => p.name)).toEqual([
      'Managers',
      'Managers-Ready',
      'Workers',
      'Workers-Ready',
      'Phase',
      'Age',
    ]);
    // Structural: every node has a type (or is int-or-string); no additionalProperties next to properties.
    const walk = (n: JsonSchemaProps, path: string): void => {
      if (!n['x-kubernetes-int-or-string']) expect(n.type, path).toBeDefined();
      if (n.properties) expect(n.additionalProperties, path).toBeUndefined();
      for (const [k, child] of Object.entries((n.properties as Record<string, JsonSchemaProps>) ?? {})) walk(child, `${path}.${k}`);
      if (n.items) walk(n.items as JsonSchemaProps, `${path}[]`);
      if (typeof n.additionalProperties === 'object') walk(n.additionalProperties as JsonSchemaProps, `${path}{}`);
    };
    walk(version.schema.openAPIV3Schema, '');
    expect(specProps.healing?.properties.maxUnhealthy?.['x-kubernetes-int-or-string']).toBe(true);
  });

  it.each(VALID_DOCS.map((c) => [c.name, c] as const))('swarmkeeper accepts, and so does the schema without CEL: %s', (_t, c) => {
    expect(swarmkeeperAccepts(c.text)).toBe(true);
    // The API server drops status on create before judging its values (status subresource).
    const { status: _status, ...doc } = withoutNulls(parse(c.text) as unknown) as Record<string, unknown>;
    expect(crdAccepts(doc), JSON.stringify(schemaCheck.errors)).toBe(true);
  });

  it.each(INVALID_DOCS.map((c) => [c.name, c] as const))('swarmkeeper refuses: %s', (_t, c) => {
    expect(swarmkeeperAccepts(c.text)).toBe(false);
  });

  const celOnly: Array<[string, unknown, string]> = [
    ['rollout cannot progress', withField(aSwarmCluster(), 'spec.rollout', { maxSurge: 0, maxUnavailable: 0 }), 'rollout-can-progress'],
    ['maxUnhealthy count above the cluster', withField(aSwarmCluster(), 'spec.healing.maxUnhealthy', 6), 'max-unhealthy-within-cluster'],
    ['reserved tag key', withField(anEc2Cluster(), 'spec.provider.ec2.tags', { 'aws:cf': 'x' }), 'ec2-tag-keys'],
    ['agent image on latest', withField(anEc2Cluster(), 'spec.provider.ec2.agentImage', 'swarmkeeper:latest'), 'agent-image-pinned'],
    [
      'unit enabled without [Install]',
      withField(aSwarmCluster(), 'spec.workers.units', [{ name: 'a.service', enable: true, content: '[Service]\n' }]),
      'workers-unit-enable-needs-install',
    ],
  ];
  it.each(celOnly)('cross-field rule %s: TS refuses, the CRD carries the CEL rule', (_t, doc, id) => {
    expect(validateCluster(doc).ok).toBe(false);
    expect(crdAccepts(doc)).toBe(true); // ajv cannot run CEL; the API server does
    const rule = CROSS_FIELD_RULES.find((r) => r.id === id);
    expect(rule).toBeDefined();
    const node = schemaAt(version.schema.openAPIV3Schema, rule?.crdPath ?? '');
    expect(node['x-kubernetes-validations']).toContainEqual({ rule: rule?.cel, message: rule?.message });
  });

  it('maxUnhealthy is a bare int-or-string whose branch rules are one CEL rule', () => {
    const node = specProps.healing?.properties.maxUnhealthy as JsonSchemaProps;
    expect(node.anyOf).toEqual([{ type: 'integer' }, { type: 'string' }]);
    expect(node['x-kubernetes-validations']).toEqual([
      {
        rule: "type(self) == int ? self >= 0 : self.matches('^(100|[1-9]?[0-9])%$')",
        message: 'must be a whole number >= 0 or a string matching ^(100|[1-9]?[0-9])%$',
      },
    ]);
  });

  it('duplicate unit names: TS refuses, the CRD declares a list-map keyed by name', () => {
    const doc = withField(aSwarmCluster(), 'spec.workers.units', [{ name: 'a.service' }, { name: 'a.service' }]);
    expect(validateCluster(doc).ok).toBe(false);
    const units = specProps.workers?.properties.units;
    expect(units?.['x-kubernetes-list-type']).toBe('map');
    expect(units?.['x-kubernetes-list-map-keys']).toEqual(['name']);
  });

  it('refuses to convert schema features it does not know', () => {
    expect(() => toStructural({ type: 'object', oneOf: [] }, 'x')).toThrow(/"oneOf" at x is not converted/);
    expect(() => toStructural({ anyOf: [{ type: 'object' }, { type: 'string' }] }, 'y')).toThrow(/no structural form/);
  });
});
