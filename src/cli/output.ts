// Output helpers shared by every command: kubectl-style tables (upper-case headers,
// columns padded with three spaces), `-o yaml|json|wide` parsing, whole objects as
// YAML or JSON, and ages like kubectl's (45s, 12m, 3h, 5d).
import { stripVTControlCharacters } from 'node:util';
import { SwarmkeeperError } from '../errors.ts';
import { formatCluster, formatClusters } from '../spec/codec.ts';

export type OutputFormat = 'table' | 'wide' | 'yaml' | 'json' | 'name';

export interface Writable {
  write(s: string): unknown;
}

/** Parses an -o/--output value; undefined means the default table. */
export function parseOutputFormat(
  value: string | undefined,
  allowed: readonly OutputFormat[] = ['table', 'wide', 'yaml', 'json', 'name'],
): OutputFormat {
  const v = value ?? 'table';
  if (!(allowed as readonly string[]).includes(v)) {
    throw new SwarmkeeperError('Usage', `unknown output format "${v}": use one of ${allowed.filter((a) => a !== 'table').join(', ')}`);
  }
  return v as OutputFormat;
}

/** Renders rows under headers, columns separated by three spaces (kubectl's look). */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...rows.map(line)].join('\n') + '\n';
}

/**
 * A table as lines, every cell made printable; an empty table says `(none)` instead of
 * printing bare headers.
 */
export function tableLines(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  if (rows.length === 0) return ['(none)'];
  return formatTable(
    headers,
    rows.map((r) => r.map(printable)),
  )
    .trimEnd()
    .split('\n');
}

/**
 * A value as one printable line. Alert summaries, errors and reasons come from outside
 * (an alert's annotations, a peer's error text): escape sequences are removed so they
 * cannot repaint or retitle the operator's terminal, other control characters shown as
 * `?`, and line breaks as spaces so a row stays one row.
 */
export function printable(text: string): string {
  return stripVTControlCharacters(text)
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/\p{Cc}/gu, '?');
}

export function printTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>, out: Writable = process.stdout): void {
  out.write(formatTable(headers, rows));
}

/** One object (or a List of several) as YAML or JSON, fields in kubectl's order. */
export function printObject(obj: unknown, format: 'yaml' | 'json', out: Writable = process.stdout): void {
  out.write(formatCluster(obj, format));
}

export function printObjects(objs: readonly unknown[], format: 'yaml' | 'json', out: Writable = process.stdout): void {
  out.write(formatClusters(objs, format));
}

/** kubectl's AGE column: the largest unit, e.g. 45s, 12m, 3h, 5d; `<unknown>` without a time. */
export function formatAge(timestamp: string | undefined, now: number): string {
  const t = timestamp === undefined ? Number.NaN : Date.parse(timestamp);
  if (Number.isNaN(t)) return '<unknown>';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}
