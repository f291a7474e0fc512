// The rules Kubernetes applies to an object's metadata (ObjectMeta), checked here too so
// a document swarmkeeper accepts is one the API server accepts, and the other way round:
// label keys and annotation keys are qualified names (`[prefix/]name`), label values are
// at most 63 characters of a restricted alphabet, annotations total at most 256 KiB,
// finalizers are qualified names, timestamps are RFC 3339. The API server enforces these
// itself (a CRD's schema may only restrict metadata.name), so they are not in the CRD.
//
// Pure: no I/O.
import { keySegment, type FieldError } from './rules.ts';

const DNS_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS_SUBDOMAIN = new RegExp(`^${DNS_LABEL}(\\.${DNS_LABEL})*$`);
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const MAX_ANNOTATIONS_BYTES = 256 * 1024;

/** Why `key` is not a Kubernetes qualified name, or undefined when it is one. */
export function qualifiedNameProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const [prefix, name] = slash === -1 ? [undefined, key] : [key.slice(0, slash), key.slice(slash + 1)];
  if (prefix !== undefined) {
    if (prefix.length === 0) return 'has an empty prefix before "/"';
    if (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))
      return 'has a prefix that is not a DNS subdomain (lowercase letters, digits, "-" and ".")';
  }
  if (name.length === 0) return 'has an empty name part';
  if (name.length > 63) return `has a name part of ${name.length} characters (at most 63)`;
  if (!QUALIFIED_NAME_PART.test(name))
    return 'must be letters, digits, "-", "_" and ".", starting and ending with a letter or digit, with an optional "prefix/"';
  return undefined;
}

/** Kubernetes' own rules for metadata, as field errors. Expects a document that passed the schema. */
export function checkObjectMeta(metadata: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  const labels = (metadata.labels ?? {}) as Record<string, string>;
  for (const [k, v] of Object.entries(labels)) {
    const path = `metadata.labels${keySegment(k)}`;
    const keyProblem = qualifiedNameProblem(k);
    if (keyProblem) errors.push({ path, message: `label key ${keyProblem}` });
    if (v.length > 63) errors.push({ path, message: `label value must be at most 63 characters (is ${v.length})` });
    else if (!LABEL_VALUE.test(v))
      errors.push({
        path,
        message: 'label value must be empty or letters, digits, "-", "_" and ".", starting and ending with a letter or digit',
      });
  }
  const annotations = (metadata.annotations ?? {}) as Record<string, string>;
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) {
    size += k.length + v.length;
    const keyProblem = qualifiedNameProblem(k);
    if (keyProblem) errors.push({ path: `metadata.annotations${keySegment(k)}`, message: `annotation key ${keyProblem}` });
  }
  if (size > MAX_ANNOTATIONS_BYTES)
    errors.push({ path: 'metadata.annotations', message: `annotations total ${size} bytes; at most ${MAX_ANNOTATIONS_BYTES}` });
  const finalizers = (metadata.finalizers ?? []) as string[];
  finalizers.forEach((f, i) => {
    const problem = qualifiedNameProblem(f);
    if (problem) errors.push({ path: `metadata.finalizers[${i}]`, message: `finalizer ${problem}` });
  });
  for (const field of ['creationTimestamp', 'deletionTimestamp'] as const) {
    const v = metadata[field];
    if (typeof v === 'string' && !RFC3339.test(v))
      errors.push({
        path: `metadata.${field}`,
        message: `must be an RFC 3339 time like "2026-01-01T00:00:00Z", got ${JSON.stringify(v.slice(0, 40))}`,
      });
  }
  return errors;
}
