// The Kubernetes CustomResourceDefinition for SwarmCluster, generated from the TypeBox
// schema in schema.ts (scripts/generate-crd.ts writes crds/swarmcluster.yaml; a test
// fails when the committed file differs from what this module produces).
//
// TypeBox emits plain JSON Schema; Kubernetes wants a *structural* schema, so this
// converts: literals and unions of literals become `enum`, the count-or-percent union
// becomes x-kubernetes-int-or-string, records become additionalProperties maps,
// `additionalProperties: false` is dropped (the API server prunes, and `kubectl apply`
// rejects with its default strict field validation, unknown fields instead), the
// cross-field rules of rules.ts become CEL x-kubernetes-validations and list-map keys.
// Any schema feature the converter does not know makes it throw, so a schema change
// cannot slip into the CRD half-converted.
import { stringify } from 'yaml';
import { API_VERSION, KIND, MetadataSchema, SwarmClusterSpecSchema, SwarmClusterStatusSchema } from './schema.ts';
import { CROSS_FIELD_RULES, LIST_MAP_FIELDS } from './rules.ts';

export type JsonSchemaProps = { [key: string]: unknown };

const [GROUP, VERSION] = API_VERSION.split('/') as [string, string];
export const CRD_NAME = `swarmclusters.${GROUP}`;

/** Keywords copied as they are (value validations allowed in structural schemas). */
const COPIED = [
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'description',
  'format',
];
/** Keywords handled structurally below. */
const HANDLED = new Set([
  'type',
  'properties',
  'required',
  'items',
  'additionalProperties',
  'patternProperties',
  'anyOf',
  'const',
  ...COPIED,
]);

/** Converts one TypeBox (JSON Schema) node at dotted `path` to a structural schema node. */
export function toStructural(node: JsonSchemaProps, path: string): JsonSchemaProps {
  for (const k of Object.keys(node)) {
    if (!HANDLED.has(k)) throw new Error(`crd: schema keyword "${k}" at ${path} is not converted; teach src/spec/crd.ts about it`);
  }
  const out: JsonSchemaProps = {};
  if ('const' in node) return { type: literalType(node.const, path), enum: [node.const] };
  if (Array.isArray(node.anyOf)) return convertUnion(node.anyOf as JsonSchemaProps[], path);
  const type = node.type;
  if (type === 'object') {
    out.type = 'object';
    const props = node.properties as Record<string, JsonSchemaProps> | undefined;
    if (props) {
      out.properties = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, toStructural(v, `${path}.${k}`)]));
    }
    const pattern = node.patternProperties as Record<string, JsonSchemaProps> | undefined;
    if (pattern) {
      const entries = Object.entries(pattern);
      if (entries.length !== 1 || props) throw new Error(`crd: only plain string-keyed records are supported at ${path}`);
      out.additionalProperties = toStructural((entries[0] as [string, JsonSchemaProps])[1], `${path}{}`);
    }
    if (Array.isArray(node.required) && node.required.length > 0) out.required = [...(node.required as string[])];
  } else if (type === 'array') {
    out.type = 'array';
    out.items = toStructural(node.items as JsonSchemaProps, `${path}[]`);
    const listMap = LIST_MAP_FIELDS.find((f) => f.crdPath === path);
    if (listMap) {
      out['x-kubernetes-list-type'] = 'map';
      out['x-kubernetes-list-map-keys'] = [listMap.key];
    }
  } else if (type === 'string' || type === 'integer' || type === 'number' || type === 'boolean') {
    out.type = type;
  } else {
    throw new Error(`crd: unsupported type ${JSON.stringify(type)} at ${path}`);
  }
  for (const k of COPIED) if (node[k] !== undefined) out[k] = node[k];
  const rules = CROSS_FIELD_RULES.filter((r) => r.crdPath === path);
  if (rules.length > 0) out['x-kubernetes-validations'] = rules.map((r) => ({ rule: r.cel, message: r.message }));
  return out;
}

function convertUnion(branches: JsonSchemaProps[], path: string): JsonSchemaProps {
  if (branches.every((b) => 'const' in b)) {
    const types = new Set(branches.map((b) => literalType(b.const, path)));
    if (types.size !== 1) throw new Error(`crd: literals of mixed types at ${path}`);
    return { type: [...types][0], enum: branches.map((b) => b.const) };
  }
  const int = branches.find((b) => b.type === 'integer');
  const str = branches.find((b) => b.type === 'string');
  if (branches.length === 2 && int && str) {
    // The one typed union Kubernetes allows: int-or-string, with bare branches (a type or
    // any value validation inside anyOf makes the schema non-structural). What each branch
    // requires moves to one CEL rule; the string's maxLength stays on the node, where it
    // bounds the rule's estimated cost.
    const out: JsonSchemaProps = { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] };
    if (str.maxLength !== undefined) out.maxLength = str.maxLength;
    out['x-kubernetes-validations'] = [intOrStringRule(int, str, path)];
    return out;
  }
  throw new Error(`crd: union at ${path} has no structural form (only literals or int-or-string)`);
}

/** One CEL rule stating both branches' constraints of an int-or-string. */
function intOrStringRule(int: JsonSchemaProps, str: JsonSchemaProps, path: string): { rule: string; message: string } {
  for (const [branch, allowed] of [
    [int, ['type', 'minimum', 'maximum']],
    [str, ['type', 'pattern', 'maxLength']],
  ] as const) {
    for (const k of Object.keys(branch)) {
      if (!(allowed as readonly string[]).includes(k))
        throw new Error(`crd: keyword "${k}" in the int-or-string at ${path} is not converted`);
    }
  }
  const bounds: Array<[string, string]> = [];
  if (typeof int.minimum === 'number') bounds.push([`self >= ${int.minimum}`, `>= ${int.minimum}`]);
  if (typeof int.maximum === 'number') bounds.push([`self <= ${int.maximum}`, `<= ${int.maximum}`]);
  const intRule = bounds.length > 0 ? bounds.map(([cel]) => cel).join(' && ') : 'true';
  const strRule = typeof str.pattern === 'string' ? `self.matches(${celString(str.pattern)})` : 'true';
  const intWords = ['a whole number', ...bounds.map(([, words]) => words)].join(' ');
  const strWords = typeof str.pattern === 'string' ? `a string matching ${str.pattern}` : 'a string';
  return { rule: `type(self) == int ? ${intRule} : ${strRule}`, message: `must be ${intWords} or ${strWords}` };
}

/** A CEL single-quoted string literal. */
function celString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function literalType(v: unknown, path: string): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  throw new Error(`crd: unsupported literal ${JSON.stringify(v)} at ${path}`);
}

function plain(schema: unknown): JsonSchemaProps {
  // Drops TypeBox's symbol-keyed metadata.
  return JSON.parse(JSON.stringify(schema)) as JsonSchemaProps;
}

/** The openAPIV3Schema of the SwarmCluster resource. */
export function openApiSchema(): JsonSchemaProps {
  const metadata = plain(MetadataSchema) as { properties: { name: JsonSchemaProps } };
  return {
    type: 'object',
    description: `${KIND} is the desired state of one Docker Swarm cluster kept by swarmkeeper.`,
    required: ['spec'],
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      // Structural schemas may only restrict metadata.name (and generateName).
      metadata: { type: 'object', properties: { name: toStructural(metadata.properties.name, 'metadata.name') } },
      spec: toStructural(plain(SwarmClusterSpecSchema), 'spec'),
      status: toStructural(plain(SwarmClusterStatusSchema), 'status'),
    },
  };
}

export function buildCrd(): JsonSchemaProps {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: CRD_NAME },
    spec: {
      group: GROUP,
      scope: 'Cluster',
      names: { plural: 'swarmclusters', singular: 'swarmcluster', kind: KIND, listKind: `${KIND}List`, shortNames: ['swc'] },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Managers', type: 'integer', jsonPath: '.spec.managers.count', description: 'Desired managers' },
            { name: 'Managers-Ready', type: 'integer', jsonPath: '.status.managers.ready', description: 'Ready managers' },
            { name: 'Workers', type: 'integer', jsonPath: '.spec.workers.count', description: 'Desired workers' },
            { name: 'Workers-Ready', type: 'integer', jsonPath: '.status.workers.ready', description: 'Ready workers' },
            { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: { openAPIV3Schema: openApiSchema() },
        },
      ],
    },
  };
}

export const CRD_HEADER = '# Generated from src/spec/schema.ts by `npm run generate:crd` (scripts/generate-crd.ts). Do not edit by hand.\n';

export function renderCrdYaml(): string {
  return CRD_HEADER + stringify(buildCrd(), { lineWidth: 0 });
}
