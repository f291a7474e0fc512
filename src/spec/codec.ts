// Text <-> object for SwarmCluster documents. YAML 1.2 (a superset of JSON, so JSON
// files parse here too) with the `yaml` package. Syntax errors carry line and column;
// a file with several documents is refused (one cluster per file, like `kubectl edit`
// writes); aliases are capped so a "billion laughs" file cannot exhaust memory.
//
// Pure: never throws anything but SwarmkeeperError('SpecInvalid'), on any input.
import { isScalar, parseAllDocuments, type Document } from 'yaml';
import { stringifyPortable } from './yaml-dialects.ts';
import { SwarmkeeperError } from '../errors.ts';
import { assertValidCluster } from './validate.ts';
import type { SwarmCluster } from './schema.ts';

export type OutputFormat = 'yaml' | 'json';

const MAX_TEXT_BYTES = 1024 * 1024;

/**
 * Parses `text` (YAML or JSON) into a plain value. `source` names where it came from
 * ("cluster.yaml", "stdin", "etcd key /swarmkeeper/...") for error messages.
 */
export function parseClusterText(text: string, source: string): unknown {
  if (text.length > MAX_TEXT_BYTES) {
    throw invalid(`${source}: is ${text.length} characters long; a SwarmCluster document is at most ${MAX_TEXT_BYTES}`);
  }
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true, strict: true, schema: 'core' }) as Document.Parsed[];
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
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw invalid(`${source}: cannot be read: ${firstLine((err as Error).message)}`, err);
  }
}

/** Parse and validate: the SwarmCluster, or one SpecInvalid error naming every problem. */
export function loadClusterText(text: string, source: string): SwarmCluster {
  return assertValidCluster(parseClusterText(text, source), source);
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

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

function invalid(message: string, cause?: unknown, details: Record<string, unknown> = {}): SwarmkeeperError {
  return new SwarmkeeperError('SpecInvalid', message, { ...(cause === undefined ? {} : { cause }), details });
}
