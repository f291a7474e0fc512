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
import { buildCrd, renderCrdYaml, toStructural, type JsonSchemaProps } from './crd.ts';
import { validateCluster } from './validate.ts';
import { CROSS_FIELD_RULES } from './rules.ts';

const committed = readFileSync(new URL('../../crds/swarmcluster.yaml', import.meta.url), 'utf8');
const crd = parse(committed) as {
  spec: { group: string; names: { kind: string }; versions: Array<{ name: string; schema: { openAPIV3Schema: JsonSchemaProps } }> };
};
const version = crd.spec.versions[0] as { name: string; schema: { openAPIV3Schema: JsonSchemaProps } };
const specProps = (version.schema.openAPIV3Schema as { properties: { spec: { properties: Record<string, { properties: Record<string, JsonSchemaProps> }> } } }).properties.spec.properties;

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

const ajv = new Ajv({ allErrors: true, strict: true });
for (const kw of ['x-kubernetes-int-or-string', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-validations']) ajv.addKeyword(kw);
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

function crdAccepts(doc: unknown): boolean {
  const d = doc as Record<string, unknown> | null;
  if (typeof d !== 'object' || d === null || Array.isArray(d)) return false;
  if (d.apiVersion !== `${crd.spec.group}/${version.name}` || d.kind !== crd.spec.names.kind) return false;
  return schemaCheck(doc);
}

const valid: Array<[string, unknown]> = [
  ['minimal local', aSwarmCluster()],
  ['ec2 with everything', anEc2Cluster({ spec: { rollout: { maxSurge: 2, maxUnavailable: 0, drainTimeoutSeconds: 60 }, healing: { enabled: true, maxUnhealthy: '40%', unhealthyAfterSeconds: 30, nodeStartupTimeoutSeconds: 300, minHealthySeconds: 0, maxRetriesPerNode: 2 }, paused: true } })],
  ['maxUnhealthy as a count', withField(aSwarmCluster(), 'spec.healing.maxUnhealthy', 1)],
  ['7 managers, 0 workers', withField(withField(aSwarmCluster(), 'spec.managers.count', 7), 'spec.workers.count', 0)],
  ['units', withField(aSwarmCluster(), 'spec.managers.units', [{ name: 'vault.service', command: 'start', enable: true, content: '[Unit]\n\n[Install]\nWantedBy=multi-user.target\n', dropIns: [{ name: '10-env.conf', content: '[Service]\n' }] }])],
  ['sim provider', withField(aSwarmCluster(), 'spec.provider', { sim: { seed: 4, bootDelaySeconds: 2.5 } })],
  ['with status', { ...aSwarmCluster(), status: { observedGeneration: 2, phase: 'Ready', managers: { desired: 3, ready: 3 }, workers: { desired: 2, ready: 1 }, conditions: [{ type: 'Ready', status: 'True', reason: 'Converged', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }], nodes: [{ instanceId: 'i-1', role: 'manager', instanceState: 'running', healthy: true }] } }],
];

const invalid: Array<[string, unknown]> = [
  ['even managers', withField(aSwarmCluster(), 'spec.managers.count', 2)],
  ['9 managers', withField(aSwarmCluster(), 'spec.managers.count', 9)],
  ['negative workers', withField(aSwarmCluster(), 'spec.workers.count', -1)],
  ['fractional workers', withField(aSwarmCluster(), 'spec.workers.count', 2.5)],
  ['string workers', withField(aSwarmCluster(), 'spec.workers.count', '2')],
  ['unknown spec field', withField(aSwarmCluster(), 'spec.extra', true)],
  ['unknown nested field', withField(anEc2Cluster(), 'spec.provider.ec2.zone', 'a')],
  ['unknown status field', { ...aSwarmCluster(), status: { foo: 1 } }],
  ['missing spec', withField(aSwarmCluster(), 'spec', undefined)],
  ['missing workers', withField(aSwarmCluster(), 'spec.workers', undefined)],
  ['no provider block', withField(aSwarmCluster(), 'spec.provider', {})],
  ['two provider blocks', withField(aSwarmCluster(), 'spec.provider', { local: {}, sim: {} })],
  ['unknown provider', withField(aSwarmCluster(), 'spec.provider', { gce: {} })],
  ['ec2 missing imageId', withField(anEc2Cluster(), 'spec.provider.ec2.imageId', undefined)],
  ['ec2 bad region', withField(anEc2Cluster(), 'spec.provider.ec2.region', 'Europe')],
  ['ec2 41 tags', withField(anEc2Cluster(), 'spec.provider.ec2.tags', Object.fromEntries(Array.from({ length: 41 }, (_, i) => [`t${i}`, 'v'])))],
  ['maxUnhealthy 101%', withField(aSwarmCluster(), 'spec.healing.maxUnhealthy', '101%')],
  ['maxUnhealthy "abc"', withField(aSwarmCluster(), 'spec.healing.maxUnhealthy', 'abc')],
  ['maxUnhealthy -1', withField(aSwarmCluster(), 'spec.healing.maxUnhealthy', -1)],
  ['maxUnhealthy 1.5', withField(aSwarmCluster(), 'spec.healing.maxUnhealthy', 1.5)],
  ['startup timeout below 10', withField(aSwarmCluster(), 'spec.healing.nodeStartupTimeoutSeconds', 5)],
  ['bad unit command', withField(aSwarmCluster(), 'spec.workers.units', [{ name: 'a.service', command: 'reload' }])],
  ['bad name', withField(aSwarmCluster(), 'metadata.name', 'UPPER')],
  ['wrong kind', { ...aSwarmCluster(), kind: 'Deployment' }],
  ['wrong apiVersion', { ...aSwarmCluster(), apiVersion: 'swarmkeeper.dev/v1' }],
  ['not an object', ['a list']],
  ['bad phase', { ...aSwarmCluster(), status: { phase: 'Happy' } }],
];

describe('crds/swarmcluster.yaml', () => {
  it('is what src/spec/crd.ts generates (run `npm run generate:crd` after a schema change)', () => {
    expect(committed).toBe(renderCrdYaml());
  });

  it('is a structural apiextensions.k8s.io/v1 CRD with a status subresource and printer columns', () => {
    const c = buildCrd() as { apiVersion: string; spec: { versions: Array<Record<string, unknown>> } };
    expect(c.apiVersion).toBe('apiextensions.k8s.io/v1');
    const v = c.spec.versions[0] as Record<string, unknown>;
    expect(v.subresources).toEqual({ status: {} });
    expect((v.additionalPrinterColumns as Array<{ name: string }>).map((p) => p.name)).toEqual(['Managers', 'Managers-Ready', 'Workers', 'Workers-Ready', 'Phase', 'Age']);
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

  it.each(valid)('both accept: %s', (_t, doc) => {
    expect(validateCluster(doc).ok).toBe(true);
    expect(crdAccepts(doc), JSON.stringify(schemaCheck.errors)).toBe(true);
  });

  it.each(invalid)('both refuse: %s', (_t, doc) => {
    expect(validateCluster(doc).ok).toBe(false);
    expect(crdAccepts(doc)).toBe(false);
  });

  const celOnly: Array<[string, unknown, string]> = [
    ['rollout cannot progress', withField(aSwarmCluster(), 'spec.rollout', { maxSurge: 0, maxUnavailable: 0 }), 'rollout-can-progress'],
    ['maxUnhealthy count above the cluster', withField(aSwarmCluster(), 'spec.healing.maxUnhealthy', 6), 'max-unhealthy-within-cluster'],
    ['reserved tag key', withField(anEc2Cluster(), 'spec.provider.ec2.tags', { 'aws:cf': 'x' }), 'ec2-tag-keys'],
    ['agent image on latest', withField(anEc2Cluster(), 'spec.provider.ec2.agentImage', 'swarmkeeper:latest'), 'agent-image-pinned'],
    ['unit enabled without [Install]', withField(aSwarmCluster(), 'spec.workers.units', [{ name: 'a.service', enable: true, content: '[Service]\n' }]), 'workers-unit-enable-needs-install'],
  ];
  it.each(celOnly)('cross-field rule %s: TS refuses, the CRD carries the CEL rule', (_t, doc, id) => {
    expect(validateCluster(doc).ok).toBe(false);
    expect(crdAccepts(doc)).toBe(true); // ajv cannot run CEL; the API server does
    const rule = CROSS_FIELD_RULES.find((r) => r.id === id);
    expect(rule).toBeDefined();
    const node = schemaAt(version.schema.openAPIV3Schema, rule?.crdPath ?? '');
    expect(node['x-kubernetes-validations']).toContainEqual({ rule: rule?.cel, message: rule?.message });
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
