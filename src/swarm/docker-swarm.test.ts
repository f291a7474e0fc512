import { describe, expect, it } from 'vitest';
import { isSwarmkeeperError } from '../errors.ts';
import { DockerSwarm, toSwarmNode } from './docker-swarm.ts';

type ApiNode = Parameters<typeof toSwarmNode>[0];
function anApiNode(overrides: Partial<ApiNode> = {}): ApiNode {
  return {
    ID: 'n1',
    Version: { Index: 42 },
    Spec: { Role: 'worker', Availability: 'active', Labels: {} },
    Description: { Hostname: 'vm', Engine: { Labels: { 'swarmkeeper.instance': 'i-1' } } },
    Status: { State: 'ready', Addr: '10.0.0.7' },
    ...overrides,
  };
}

describe('toSwarmNode', () => {
  it('maps a worker', () => {
    expect(toSwarmNode(anApiNode())).toEqual({
      id: 'n1',
      role: 'worker',
      desiredRole: 'worker',
      availability: 'active',
      state: 'ready',
      leader: false,
      instanceId: 'i-1',
      address: '10.0.0.7',
      version: 42,
    });
  });
  it('takes the role from raft membership and the address from the raft address for managers', () => {
    const n = toSwarmNode(
      anApiNode({
        Spec: { Role: 'manager', Availability: 'drain' },
        Status: { State: 'ready', Addr: '127.0.0.1' },
        ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '127.30.0.2:2377' },
      }),
    );
    expect(n).toMatchObject({
      role: 'manager',
      desiredRole: 'manager',
      leader: true,
      reachability: 'reachable',
      address: '127.30.0.2',
      availability: 'drain',
    });
  });
  it('shows a demotion in flight as desiredRole worker while still in the raft', () => {
    const n = toSwarmNode(anApiNode({ Spec: { Role: 'worker' }, ManagerStatus: { Reachability: 'reachable', Addr: '10.0.0.7:2377' } }));
    expect(n.role).toBe('manager');
    expect(n.desiredRole).toBe('worker');
  });
  it('leaves instanceId undefined for engines swarmkeeper did not label, and tolerates unknown states', () => {
    const n = toSwarmNode(anApiNode({ Description: {}, Status: { State: 'weird' } }));
    expect(n.instanceId).toBeUndefined();
    expect(n.state).toBe('unknown');
    expect(n.address).toBe('');
  });
});

describe('DockerSwarm endpoints', () => {
  it('refuses a TCP endpoint without TLS material (never plain TCP)', () => {
    const bad = { host: '10.0.0.1', port: 2376, ca: '', cert: 'c', key: 'k' };
    expect(() => new DockerSwarm(bad)).toThrow(/ca is required/);
    try {
      new DockerSwarm(bad);
    } catch (err) {
      expect(isSwarmkeeperError(err, 'Usage')).toBe(true);
    }
  });
  it('refuses an empty socket path', () => {
    expect(() => new DockerSwarm({ socketPath: '' })).toThrow(/socketPath is empty/);
  });
});
