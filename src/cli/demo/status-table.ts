// The demo's node table: one row per instance with what the provider, the swarm and etcd
// say about it (the status rows), as aligned text columns.
import type { NodeRow } from '../../spec/schema.ts';

const HEADERS = ['ROLE', 'INSTANCE', 'ADDRESS', 'INSTANCE STATE', 'SWARM', 'ETCD', 'HEALTHY'] as const;

export function nodeTableRows(rows: readonly NodeRow[]): string[][] {
  return rows.map((r) => [
    r.role,
    r.instanceId,
    r.address ?? '-',
    r.instanceState,
    r.swarmState ? `${r.swarmRole ?? '?'} ${r.swarmState}${r.availability && r.availability !== 'active' ? ` (${r.availability})` : ''}` : 'not joined',
    r.etcdMembership ?? '-',
    r.healthy ? 'yes' : 'no',
  ]);
}

/** Aligned columns, two spaces apart, header first. */
export function formatColumns(headers: readonly string[], rows: readonly (readonly string[])[], indent = '  '): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => `${indent}${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()}`;
  return [line(headers), ...rows.map(line)].join('\n');
}

export function formatNodeTable(rows: readonly NodeRow[]): string {
  if (rows.length === 0) return '  (no instances)';
  return formatColumns(HEADERS, nodeTableRows(rows));
}
