import { describe, expect, it } from 'vitest';
import type { NodeRow } from '../../spec/schema.ts';
import { formatNodeTable } from './status-table.ts';
import { demoCluster } from './demo-spec.ts';
import { validateCluster } from '../../spec/validate.ts';

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

describe('demo status table', () => {
  it('shows role, instance id, address, swarm state and etcd membership per node', () => {
    const text = formatNodeTable([
      aRow(),
      aRow({ instanceId: 'lc-22', role: 'worker', address: '127.200.0.10', swarmRole: 'worker', availability: 'drain', etcdMembership: 'gateway' }),
      aRow({ instanceId: 'lc-3', instanceState: 'pending', swarmState: undefined, etcdMembership: undefined, healthy: false }),
    ]);
    expect(text.split('\n')).toEqual([
      '  ROLE     INSTANCE  ADDRESS       INSTANCE STATE  SWARM                 ETCD            HEALTHY',
      '  manager  lc-1      127.200.0.2   running         manager ready         voter (leader)  yes',
      '  worker   lc-22     127.200.0.10  running         worker ready (drain)  gateway         yes',
      '  manager  lc-3      127.200.0.2   pending         not joined            -               no',
    ]);
  });
  it('says so when there is nothing yet', () => {
    expect(formatNodeTable([])).toBe('  (no instances)');
  });
});

describe('demo spec', () => {
  it('is a valid SwarmCluster', () => {
    expect(validateCluster(demoCluster({ provider: { local: { baseDir: '/tmp/skd', addressBlock: 200 } } }))).toMatchObject({ ok: true });
    expect(demoCluster({ workers: 3, provider: { sim: { seed: 1 } } }).spec.workers.count).toBe(3);
  });
});
