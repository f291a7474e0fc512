// Validation of a parsed SwarmCluster document: first "is this a SwarmCluster at all"
// (apiVersion/kind), then the TypeBox schema (the one in schema.ts, which the CRD is
// generated from), then the cross-field rules of rules.ts. Every error names a field
// path (`spec.managers.count`) and the rule it breaks, in words a person can act on.
//
// Pure: no I/O. Never throws on any input (property-tested in validate.test.ts).
import { Value } from '@sinclair/typebox/value';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import type { TSchema } from '@sinclair/typebox';
import { SwarmkeeperError } from '../errors.ts';
import { API_VERSION, KIND, SwarmClusterSchema, type SwarmCluster } from './schema.ts';
import { CROSS_FIELD_RULES, checkListMaps, keySegment, type FieldError } from './rules.ts';
import { checkObjectMeta } from './object-meta.ts';

export type { FieldError } from './rules.ts';

export type ValidationResult =
  { readonly ok: true; readonly cluster: SwarmCluster } | { readonly ok: false; readonly errors: readonly FieldError[] };

/** Extra words for rules whose bare schema form does not say why. Keyed by field path. */
const RULE_HINTS: Record<string, string> = {
  'spec.managers.count': 'odd, at most 7',
};

/** Human descriptions of the schema's string patterns. */
const PATTERN_WORDS: Record<string, string> = {
  '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$':
    'a DNS label: lowercase letters, digits and "-", 1-63 characters, starting and ending with a letter or digit',
  '^[a-z]{2}(-[a-z]+)+-\\d+$': 'an AWS region like "eu-west-1"',
  '^ami-[0-9a-f]{8,17}$': 'an AMI id like "ami-0123456789abcdef0"',
  '^subnet-[0-9a-f]{8,17}$': 'a subnet id like "subnet-0123abcd"',
  '^sg-[0-9a-f]{8,17}$': 'a security group id like "sg-0123abcd"',
  '^https?://': 'an http:// or https:// URL',
  '^[A-Za-z0-9@._-]+\\.(service|timer|socket|mount|path|target)$':
    'a systemd unit file name like "vault.service" (.service, .timer, .socket, .mount, .path or .target)',
  '^[A-Za-z0-9._-]+\\.conf$': 'a drop-in file name ending in ".conf"',
  '^(100|[1-9]?[0-9])%$': 'a percent from "0%" to "100%"',
};

export function validateCluster(doc: unknown): ValidationResult {
  const identity = checkIdentity(doc);
  if (identity.length > 0) return { ok: false, errors: identity };
  // Kubernetes prunes a field set to null before validating (none of ours is nullable):
  // `paused: null` means "not set" to both.
  const pruned = withoutNulls(doc);
  const all = schemaErrors(SwarmClusterSchema, pruned);
  // status is the controller's: like the API server (status subresource), a status in a
  // document written by a user is dropped, its values unjudged; unknown fields in it are
  // still refused, as Kubernetes' strict field validation refuses them.
  const ignored = all.filter((e) => /^status\b/.test(e.path) && !e.message.startsWith('unknown field'));
  const errors = all.filter((e) => !ignored.includes(e));
  if (errors.length > 0) return { ok: false, errors };
  const cluster = (ignored.length > 0 ? withoutStatus(pruned) : pruned) as SwarmCluster;
  const semantic = [...checkObjectMeta(cluster.metadata), ...checkListMaps(cluster), ...CROSS_FIELD_RULES.flatMap((r) => r.check(cluster))];
  if (semantic.length > 0) return { ok: false, errors: semantic };
  return { ok: true, cluster };
}

/** The document as a SwarmCluster, or a SpecInvalid error listing every problem. */
export function assertValidCluster(doc: unknown, source?: string): SwarmCluster {
  const r = validateCluster(doc);
  if (r.ok) return r.cluster;
  throw new SwarmkeeperError('SpecInvalid', describeInvalid(doc, r.errors, source), { details: { errors: r.errors } });
}

/** kubectl-like: `cluster.yaml: SwarmCluster "prod" is invalid:` then one line per error. */
export function describeInvalid(doc: unknown, errors: readonly FieldError[], source?: string): string {
  const name = nameOf(doc);
  const what = name ? `SwarmCluster "${name}"` : 'the document';
  const head = `${source ? `${source}: ` : ''}${what} is invalid`;
  return `${head}:\n${formatFieldErrors(errors)}`;
}

export function formatFieldErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `  * ${e.path}: ${e.message}`).join('\n');
}

function nameOf(doc: unknown): string | undefined {
  if (!isRecord(doc) || !isRecord(doc.metadata)) return undefined;
  const n = doc.metadata.name;
  return typeof n === 'string' && n.length > 0 && n.length < 100 ? n : undefined;
}

/** A document that is not a SwarmCluster is named as such before any field is judged. */
function checkIdentity(doc: unknown): FieldError[] {
  if (!isRecord(doc)) {
    return [
      { path: '(document)', message: `must be a mapping with apiVersion ${API_VERSION} and kind ${KIND}, got ${describeValue(doc)}` },
    ];
  }
  const { apiVersion, kind } = doc;
  if (apiVersion === API_VERSION && kind === KIND) return [];
  if (apiVersion === undefined && kind === undefined) {
    return [
      { path: 'apiVersion', message: `is required: this is not a SwarmCluster document (want apiVersion: ${API_VERSION}, kind: ${KIND})` },
    ];
  }
  const errors: FieldError[] = [];
  const found = `kind ${typeof kind === 'string' ? kind : describeValue(kind)} (apiVersion ${typeof apiVersion === 'string' ? apiVersion : describeValue(apiVersion)})`;
  if (apiVersion !== API_VERSION) {
    errors.push({ path: 'apiVersion', message: `must be "${API_VERSION}": this document is ${found}, not a SwarmCluster` });
  }
  if (kind !== KIND) errors.push({ path: 'kind', message: `must be "${KIND}": this document is ${found}, not a SwarmCluster` });
  return errors;
}

function schemaErrors(schema: TSchema, doc: unknown): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  let iterator: Iterable<ValueError>;
  try {
    iterator = Value.Errors(schema, doc);
  } catch (err) {
    return [{ path: '(document)', message: `could not be checked: ${(err as Error).message}` }];
  }
  for (const e of iterator) {
    const path = dottedPath(e.path, doc);
    if (seen.has(path)) continue; // the first error at a path is the most specific one
    seen.add(path);
    out.push({ path, message: messageFor(e, path) });
    if (out.length >= 50) break;
  }
  return out;
}

function messageFor(e: ValueError, path: string): string {
  const s = e.schema as Record<string, unknown>;
  const got = `, got ${describeValue(e.value)}`;
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const parent = parentSchemaProperties(e.path);
      return `unknown field${parent.length ? ` (allowed here: ${parent.join(', ')})` : ''}`;
    }
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required';
    case ValueErrorType.ObjectMinProperties:
    case ValueErrorType.ObjectMaxProperties:
      if (path === 'spec.provider')
        return `must set exactly one provider: ec2, local or sim (has ${Object.keys(asRecord(e.value)).length})`;
      return e.type === ValueErrorType.ObjectMinProperties
        ? `must have at least ${String(s.minProperties)} fields`
        : `must have at most ${String(s.maxProperties)} fields`;
    case ValueErrorType.Object:
      return `must be a mapping (object)${got}`;
    case ValueErrorType.Array:
      return `must be a list${got}`;
    case ValueErrorType.String:
      return `must be a string${got}`;
    case ValueErrorType.Boolean:
      return `must be true or false${got}`;
    case ValueErrorType.Integer:
      return `must be a whole number${got}`;
    case ValueErrorType.Number:
      return `must be a number${got}`;
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum:
      return `must be at least ${String(s.minimum)}${got}`;
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum:
      return `must be at most ${String(s.maximum)}${got}`;
    case ValueErrorType.StringMinLength:
      return s.minLength === 1 ? 'must not be empty' : `must be at least ${String(s.minLength)} characters`;
    case ValueErrorType.StringMaxLength:
      return `must be at most ${String(s.maxLength)} characters (is ${String((e.value as string).length)})`;
    case ValueErrorType.StringPattern: {
      const p = String(s.pattern);
      return `must be ${PATTERN_WORDS[p] ?? `a string matching ${p}`}${got}`;
    }
    case ValueErrorType.ArrayMinItems:
      return `must have at least ${String(s.minItems)} item${s.minItems === 1 ? '' : 's'}`;
    case ValueErrorType.ArrayMaxItems:
      return `must have at most ${String(s.maxItems)} items (has ${String((e.value as unknown[]).length)})`;
    case ValueErrorType.Literal:
      return `must be ${JSON.stringify(s.const)}${got}`;
    case ValueErrorType.Union:
      return unionMessage(s, path) + got;
    default:
      return `${e.message}${got}`;
  }
}

function unionMessage(s: Record<string, unknown>, path: string): string {
  const branches = (s.anyOf as Array<Record<string, unknown>> | undefined) ?? [];
  const hint = RULE_HINTS[path] ? ` (${RULE_HINTS[path]})` : '';
  if (branches.length > 0 && branches.every((b) => 'const' in b)) {
    return `must be one of ${branches.map((b) => (typeof b.const === 'string' ? b.const : JSON.stringify(b.const))).join(', ')}${hint}`;
  }
  const isIntOrPercent = branches.some((b) => b.type === 'integer') && branches.some((b) => b.type === 'string');
  if (isIntOrPercent) return `must be a count (a whole number, 0 or more) or a percent from "0%" to "100%"${hint}`;
  return `does not match any allowed form${hint}`;
}

/** The allowed property names of the object holding the field at JSON pointer `pointer`. */
function parentSchemaProperties(pointer: string): string[] {
  const segments = pointer.split('/').slice(1, -1).map(unescapePointer);
  let schema: Record<string, unknown> | undefined = SwarmClusterSchema as unknown as Record<string, unknown>;
  for (const seg of segments) {
    if (!schema) return [];
    const props = schema.properties as Record<string, Record<string, unknown>> | undefined;
    if (props && seg in props) schema = props[seg];
    else if (schema.items) schema = schema.items as Record<string, unknown>;
    else return [];
  }
  const props = schema?.properties as Record<string, unknown> | undefined;
  return props ? Object.keys(props) : [];
}

/** JSON pointer `/spec/provider/ec2/subnetIds/0` -> `spec.provider.ec2.subnetIds[0]`. */
export function dottedPath(pointer: string, doc: unknown): string {
  if (pointer === '' || pointer === '/') return '(document)';
  let out = '';
  let value: unknown = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = unescapePointer(raw);
    if (Array.isArray(value)) {
      out += `[${seg}]`;
      value = value[Number(seg)];
    } else {
      out += out === '' && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg) ? seg : keySegment(seg);
      value = isRecord(value) && Object.prototype.hasOwnProperty.call(value, seg) ? value[seg] : undefined;
    }
  }
  return out.startsWith('.') ? out.slice(1) : out;
}

function unescapePointer(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** A short, safe rendering of a bad value for an error message. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return v.length > 40 ? `a ${v.length}-character string` : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return typeof v;
}

function withoutStatus(doc: unknown): unknown {
  const { status: _dropped, ...rest } = doc as Record<string, unknown>;
  return rest;
}

/** A copy without the mapping entries whose value is null (list items are kept). */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (!isRecord(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = withoutNulls(x);
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asRecord(v: unknown): Record<string, unknown> {
  return isRecord(v) ? v : {};
}
