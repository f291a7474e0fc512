// The node table, one row per instance with what the provider, the swarm and etcd say
// about it: the same columns and words wherever it is printed (`swarmkeeper status`,
// the demo), so an operator learns one table.
import type { NodeRow } from '../spec/schema.ts';
import { tableLines } from './output.ts';

const HEADERS = ['ROLE', 'INSTANCE', 'ADDRESS', 'STATE', 'SWARM', 'ETCD', 'HEALTH'] as const;

/**
 * The table as lines. With `requests` (operator node requests by instance id, e.g.
 * `drain`) a REQUEST column follows; without, the column is left out.
 */
export function nodeTableLines(nodes: readonly NodeRow[], requests?: Readonly<Record<string, string>>): string[] {
  const headers = requests ? [...HEADERS, 'REQUEST'] : HEADERS;
  return tableLines(
    headers,
    nodes.map((n) => [...nodeCells(n), ...(requests ? [requests[n.instanceId] ?? '-'] : [])]),
  );
}

function nodeCells(n: NodeRow): string[] {
  return [
    n.role,
    n.instanceId,
    n.address ?? '-',
    n.instanceState,
    n.swarmState
      ? `${n.swarmRole ?? '?'}/${n.swarmState}${n.availability && n.availability !== 'active' ? `/${n.availability}` : ''}`
      : '-',
    n.etcdMembership ?? '-',
    n.healthy ? 'healthy' : n.marks?.length ? `unhealthy (${n.marks.join('; ')})` : 'not ready',
  ];
}
