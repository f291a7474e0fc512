import { describe, expect, it } from 'vitest';
import type { NodeRow } from '../spec/schema.ts';
import { nodeTableLines } from './node-table.ts';

function aRow(overrides: Partial<NodeRow> = {}): NodeRow {
  return {
    instanceId: 'lc-1',
    role: 'manager',
    address: '127.200.0.2',
    instanceState: 'running',
    swarmState: 'ready',
    swarmRole: 'manager',
    availability: 'active',
    etcdMembership: 'voter (leader)',
    healthy: true,
    ...overrides,
  };
}

describe('node table', () => {
  const rows = [
    aRow(),
    aRow({
      instanceId: 'lc-22',
      role: 'worker',
      address: '127.200.0.10',
      swarmRole: 'worker',
      availability: 'drain',
      etcdMembership: 'gateway',
    }),
    aRow({ instanceId: 'lc-3', instanceState: 'pending', swarmState: undefined, etcdMembership: undefined, healthy: false }),
    aRow({ instanceId: 'lc-4', healthy: false, marks: ['alert:NodeDown'] }),
  ];

  it('shows role, instance id, address, swarm state, etcd membership and health per node', () => {
    expect(nodeTableLines(rows)).toEqual([
      'ROLE      INSTANCE   ADDRESS        STATE     SWARM                ETCD             HEALTH',
      'manager   lc-1       127.200.0.2    running   manager/ready        voter (leader)   healthy',
      'worker    lc-22      127.200.0.10   running   worker/ready/drain   gateway          healthy',
      'manager   lc-3       127.200.0.2    pending   -                    -                not ready',
      'manager   lc-4       127.200.0.2    running   manager/ready        voter (leader)   unhealthy (alert:NodeDown)',
    ]);
  });

  it('adds the REQUEST column when given the requests', () => {
    const lines = nodeTableLines(rows.slice(0, 2), { 'lc-22': 'drain' });
    expect(lines[0]).toMatch(/HEALTH\s+REQUEST$/);
    expect(lines[1]).toMatch(/healthy\s+-$/);
    expect(lines[2]).toMatch(/healthy\s+drain$/);
  });

  it('says so when there is nothing yet', () => {
    expect(nodeTableLines([])).toEqual(['(none)']);
  });

  it('keeps a row on one line whatever a mark carries', () => {
    const [, row] = nodeTableLines([aRow({ healthy: false, marks: ['alert:\u001b]0;owned\u0007x\ny'] })]);
    expect(row).toMatch(/unhealthy \(alert:x y\)$/);
  });
});
