// swarmkeeper reads YAML 1.2 (the core schema); kubectl reads YAML 1.1 (go-yaml v2 via
// sigs.k8s.io/yaml), where `yes`, `on`, `y` are booleans, `010` is octal 8 and `1_000`
// is 1000. One file can therefore mean two things. This module finds where (for
// `validate` to say so) and writes YAML that both read the same way (every string
// either dialect would take for something else is quoted).
//
// Pure: no I/O.
import { Document, isMap, isScalar, isSeq, parseDocument, visit } from 'yaml';
import { keySegment } from './rules.ts';

export interface DialectDifference {
  /** Dotted field path, e.g. `spec.paused`. */
  readonly path: string;
  /** The scalar as written in the file. */
  readonly source: string;
  readonly swarmkeeper: unknown;
  readonly kubectl: unknown;
}

/** Plain (unquoted) scalars YAML 1.1 reads differently from YAML 1.2, with their paths. */
export function kubectlReadings(text: string): DialectDifference[] {
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { schema: 'core', uniqueKeys: false });
  } catch {
    return [];
  }
  if (doc.errors.length > 0) return [];
  const out: DialectDifference[] = [];
  walk(doc.contents, '', out);
  return out;
}

function walk(node: unknown, path: string, out: DialectDifference[]): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '?';
      walk(pair.value, path === '' && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? key : `${path}${keySegment(key)}`, out);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => walk(item, `${path}[${i}]`, out));
  } else if (isScalar(node) && node.type === 'PLAIN' && typeof node.source === 'string') {
    const yaml11 = readAs11(node.source);
    if (!sameValue(yaml11, node.value)) out.push({ path, source: node.source, swarmkeeper: node.value, kubectl: yaml11 });
  }
}

const UNREADABLE = Symbol('unreadable');
const YAML11_WORDS = /^(y|yes|n|no|true|false|on|off|null|nan|inf)$/i;

/** How YAML 1.1 reads one plain scalar. */
function readAs11(source: string): unknown {
  let v: unknown;
  try {
    const d = parseDocument(source, { version: '1.1' });
    if (d.errors.length > 0) return UNREADABLE;
    v = d.toJS();
  } catch {
    // "*", "&a" and the like: not a plain value in either dialect.
    return UNREADABLE;
  }
  // A YAML 1.1 timestamp: kubectl turns it into an RFC 3339 string (Go's time in JSON).
  return v instanceof Date ? v.toISOString().replace('.000Z', 'Z') : v;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || (Number.isNaN(a) && Number.isNaN(b));
  return a === b;
}

/** A one-line explanation of a difference, for `validate`. */
export function describeDifference(d: DialectDifference): string {
  const show = (v: unknown): string => (typeof v === 'string' ? `the string ${JSON.stringify(v)}` : String(v));
  const fix =
    typeof d.swarmkeeper === 'string'
      ? `write ${typeof d.kubectl === 'string' ? JSON.stringify(d.kubectl) : String(d.kubectl)} if you mean ${show(d.kubectl)}, or quote it ("${d.source}") for the string`
      : `write ${String(d.kubectl)} or ${String(d.swarmkeeper)} without the ambiguity (no leading zero, no "_")`;
  return `${d.path}: \`${d.source}\` is ${show(d.swarmkeeper)} to swarmkeeper (YAML 1.2) but ${show(d.kubectl)} to kubectl (YAML 1.1); ${fix}`;
}

/** YAML text of `value` that YAML 1.2 and YAML 1.1 readers (kubectl) read identically. */
export function stringifyPortable(value: unknown): string {
  const doc = new Document(value, { aliasDuplicateObjects: false });
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && needsQuotes(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  return doc.toString({ lineWidth: 0 });
}

/** A string YAML 1.1 would not read back as the same string when written plain. */
function needsQuotes(s: string): boolean {
  if (s === '' || s.includes('\n')) return false;
  // Fast path: YAML 1.1 gives another meaning only to boolean and null words and to
  // scalars starting with a digit, sign, dot, tilde or indicator.
  if (!/^[-+.~0-9!&*?|>'"%@`#,[\]{}:=<\s]/.test(s) && !YAML11_WORDS.test(s.trim())) return false;
  const v = readAs11(s);
  return v !== s;
}
