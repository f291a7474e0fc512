// Text <-> object for SwarmCluster documents. YAML 1.2 (a superset of JSON, so JSON
// files parse here too) with the `yaml` package. Syntax errors carry line and column;
// a file with several documents is refused (one cluster per file, like `kubectl edit`
// writes); aliases are capped so a "billion laughs" file cannot exhaust memory.
//
// Cost is bounded before any parser runs (text-limits.ts: size, nesting, entries, one
// collection's entries, aliases), so a hostile document is refused in milliseconds.
// JSON text (what apply and the controller write) is read with JSON.parse, which is
// linear and does not recurse; duplicate keys are still refused, through the YAML
// parser's positioned message. Duplicate keys in YAML are found in one pass over the
// parsed maps, not by the parser's own check, which compares every pair of keys.
//
// Pure: never throws anything but SwarmkeeperError('SpecInvalid'), on any input.
import { isMap, isScalar, LineCounter, parseAllDocuments, visit, type Document } from 'yaml';
import { stringifyPortable } from './yaml-dialects.ts';
import { SwarmkeeperError } from '../errors.ts';
import { assertValidCluster } from './validate.ts';
import type { SwarmCluster } from './schema.ts';
import { checkTextLimits, STORED_SPEC_LIMITS, type TextLimits } from './text-limits.ts';

export type OutputFormat = 'yaml' | 'json';

/**
 * Parses `text` (YAML or JSON) into a plain value. `source` names where it came from
 * ("cluster.yaml", "stdin", "etcd key /swarmkeeper/...") for error messages. `limits`
 * default to those of documents stored in etcd; the CLI passes INPUT_FILE_LIMITS.
 */
export function parseClusterText(text: string, source: string, limits: TextLimits = STORED_SPEC_LIMITS): unknown {
  const over = checkTextLimits(text, limits);
  if (over !== undefined) throw invalid(`${source}: ${over}`, undefined, { limit: true });
  const json = parseJson(text);
  if (json !== undefined) return json;
  return parseYaml(text, source);
}

/** The value of `text` when it is a JSON object without duplicate keys; undefined otherwise (the YAML path explains). */
function parseJson(text: string): unknown {
  if (!/^\s*\{/.test(text)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return keysIn(value) === jsonKeyTokens(text) ? value : undefined;
}

function keysIn(v: unknown): number {
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + keysIn(x), 0);
  if (typeof v !== 'object' || v === null) return 0;
  let n = 0;
  for (const x of Object.values(v)) n += 1 + keysIn(x);
  return n;
}

/** Strings followed by `:` in JSON text: one per key written, duplicates included. */
function jsonKeyTokens(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '"') continue;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    let j = i + 1;
    while (j < text.length && (text[j] === ' ' || text[j] === '\n' || text[j] === '\r' || text[j] === '\t')) j++;
    if (text[j] === ':') n++;
  }
  return n;
}

function parseYaml(text: string, source: string): unknown {
  const lineCounter = new LineCounter();
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, {
      prettyErrors: true,
      uniqueKeys: false,
      strict: true,
      schema: 'core',
      lineCounter,
    }) as Document.Parsed[];
  } catch (err) {
    throw invalid(`${source}: cannot be parsed: ${(err as Error).message}`, err);
  }
  if (!Array.isArray(docs)) {
    // parseAllDocuments returns an EmptyStream for empty input.
    throw invalid(`${source}: is empty; expected one SwarmCluster document`);
  }
  const nonEmpty = docs.filter((d) => d.errors.length > 0 || !(d.contents === null || (isScalar(d.contents) && d.contents.value === null)));
  if (nonEmpty.length === 0) throw invalid(`${source}: is empty; expected one SwarmCluster document`);
  if (nonEmpty.length > 1) {
    throw invalid(`${source}: holds ${nonEmpty.length} YAML documents (separated by ---); give one SwarmCluster per file`);
  }
  const doc = nonEmpty[0] as Document.Parsed;
  const first = doc.errors[0];
  if (first) {
    const pos = first.linePos?.[0];
    const where = pos ? `line ${pos.line}, column ${pos.col}` : 'unknown position';
    const what = firstLine(first.message).replace(/ at line \d+, column \d+:?$/, '');
    throw invalid(`${source}: YAML syntax error at ${where}: ${what}`, first, { line: pos?.line, column: pos?.col });
  }
  const duplicate = firstDuplicateKey(doc);
  if (duplicate !== undefined) {
    const pos = lineCounter.linePos(duplicate);
    throw invalid(`${source}: YAML syntax error at line ${pos.line}, column ${pos.col}: Map keys must be unique`, undefined, {
      line: pos.line,
      column: pos.col,
    });
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw invalid(`${source}: cannot be read: ${firstLine((err as Error).message)}`, err);
  }
}

/** Parse and validate: the SwarmCluster, or one SpecInvalid error naming every problem. */
export function loadClusterText(text: string, source: string, limits: TextLimits = STORED_SPEC_LIMITS): SwarmCluster {
  return assertValidCluster(parseClusterText(text, source, limits), source);
}

/** kubectl-style rendering: fields in the order apiVersion, kind, metadata, spec, status. */
export function formatCluster(obj: unknown, format: OutputFormat): string {
  const ordered = orderTopLevel(obj);
  if (format === 'json') return `${JSON.stringify(ordered, null, 2)}\n`;
  // Quoted where kubectl (YAML 1.1) would read a plain string as something else.
  return stringifyPortable(ordered);
}

/** Several objects: a kind: List in JSON (like kubectl), `---`-separated documents in YAML. */
export function formatClusters(objs: readonly unknown[], format: OutputFormat): string {
  if (format === 'json') return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs.map(orderTopLevel) }, null, 2)}\n`;
  return objs.map((o) => formatCluster(o, 'yaml')).join('---\n');
}

function orderTopLevel(obj: unknown): unknown {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return obj;
  const o = obj as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of ['apiVersion', 'kind', 'metadata', 'spec', 'status']) if (o[k] !== undefined) out[k] = o[k];
  for (const [k, v] of Object.entries(o)) if (!(k in out) && v !== undefined) out[k] = v;
  return out;
}

/** Offset of the first key that repeats an earlier key of the same map, in one pass per map. */
function firstDuplicateKey(doc: Document.Parsed): number | undefined {
  let found: number | undefined;
  visit(doc, {
    Map(_key, map) {
      if (!isMap(map)) return undefined;
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        const k = isScalar(pair.key) ? pair.key.value : pair.key;
        if (seen.has(k)) {
          found = (isScalar(pair.key) ? pair.key.range?.[0] : undefined) ?? map.range?.[0] ?? 0;
          return visit.BREAK;
        }
        seen.add(k);
      }
      return undefined;
    },
  });
  return found;
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

function invalid(message: string, cause?: unknown, details: Record<string, unknown> = {}): SwarmkeeperError {
  return new SwarmkeeperError('SpecInvalid', message, { ...(cause === undefined ? {} : { cause }), details });
}
