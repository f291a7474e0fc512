// observeCluster with small in-memory ports (a unit test: faults are injected, and the
// names say so). The real adapters are exercised by test/integration/controller-*.
import { describe, expect, it } from 'vitest';
import { observeCluster } from './observe.ts';
import { PeerClients } from './peer-clients.ts';
import type { Instance, SwarmNode } from '../model/snapshot.ts';
import type { Provider } from '../providers/provider.ts';
import type { SwarmApi, SwarmInfo } from '../swarm/port.ts';
import type { EtcdMembershipApi } from '../etcd/port.ts';

const aManager = (id: string, o: Partial<Instance> = {}): Instance => ({
  id,
  role: 'manager',
  state: 'running',
  launchedAt: 0,
  address: `127.9.0.${id.length}`,
  configHash: 'h',
  tags: {},
  ...o,
});
const aNode = (o: Partial<SwarmNode> = {}): SwarmNode => ({
  id: 'n1',
  role: 'manager',
  availability: 'active',
  state: 'ready',
  leader: true,
  address: 'a',
  version: 1,
  ...o,
});

function aProvider(list: () => Promise<Instance[]>): Provider {
  return {
    name: 'local',
    list,
    launch: async () => [],
    terminate: async () => undefined,
    dockerEndpoint: (i) => ({ socketPath: `/tmp/${i.id}.sock` }),
    etcdClientUrl: (i) => `http://${i.address}:2379`,
    close: async () => undefined,
  };
}

function aSwarm(info: Partial<SwarmInfo> | Error, nodes: SwarmNode[] = [aNode()], tasks = 0): SwarmApi {
  const fail = async (): Promise<never> => {
    throw new Error('not used');
  };
  return {
    info: async () => {
      if (info instanceof Error) throw info;
      return { localNodeState: 'active', isManager: true, ...info };
    },
    listNodes: async () => nodes,
    runningTasks: async () => tasks,
    tasksNotMoved: async () => ({ count: 0 }),
    setAvailability: fail,
    setRole: fail,
    removeNode: fail,
    init: fail,
    join: fail,
    joinTokens: fail,
    leave: fail,
    close: async () => undefined,
  };
}

const anEtcd = (view: EtcdMembershipApi['view']): EtcdMembershipApi => ({
  view,
  listMembers: async () => [],
  addLearner: async () => '1',
  promote: async () => undefined,
  removeMember: async () => undefined,
  moveLeader: async () => undefined,
  close: async () => undefined,
});

const okEtcd = anEtcd(async () => ({ members: [], alarms: [] }));

describe('observeCluster', () => {
  it('reads an empty cluster as ok: no swarm yet, no members', async () => {
    const peers = new PeerClients({ swarm: () => aSwarm(new Error('unused')), etcd: () => okEtcd });
    const s = await observeCluster({ cluster: 'c', provider: aProvider(async () => []), peers, now: () => 42 });
    expect(s).toMatchObject({
      observedAt: 42,
      instances: { status: 'ok', value: [] },
      swarm: { status: 'ok', value: { initialized: false } },
      etcd: { status: 'ok' },
    });
  });

  it("carries the controller's own instance id into the snapshot (the planner replaces that node last)", async () => {
    const peers = new PeerClients({ swarm: () => aSwarm(new Error('unused')), etcd: () => okEtcd });
    const provider = aProvider(async () => []);
    expect((await observeCluster({ cluster: 'c', provider, peers, selfInstanceId: 'i-0self' })).selfInstanceId).toBe('i-0self');
    expect(await observeCluster({ cluster: 'c', provider, peers })).not.toHaveProperty('selfInstanceId');
  });

  it('turns a failed instance list into unavailable sources, never an exception (fault injected)', async () => {
    const peers = new PeerClients({ swarm: () => aSwarm({}), etcd: () => okEtcd });
    const s = await observeCluster({ cluster: 'c', provider: aProvider(async () => Promise.reject(new Error('EC2 down'))), peers });
    expect(s.instances).toMatchObject({ status: 'unavailable', error: 'listing instances: EC2 down' });
    expect(s.swarm.status).toBe('unavailable');
    expect(s.etcd.status).toBe('unavailable');
  });

  it('times out a source that hangs (fault injected)', async () => {
    const peers = new PeerClients({ swarm: () => aSwarm({}), etcd: () => anEtcd(() => new Promise(() => undefined)) });
    const s = await observeCluster({ cluster: 'c', provider: aProvider(async () => [aManager('m1')]), peers, timeoutMs: 50 });
    expect(s.etcd).toMatchObject({ status: 'unavailable' });
    expect(s.etcd.status === 'unavailable' && s.etcd.error).toMatch(/did not answer within 50 ms/);
    expect(s.swarm.status).toBe('ok');
  });

  it('skips managers that do not answer or are not swarm managers yet, and remembers the one that did', async () => {
    const byPath: Record<string, SwarmApi> = {
      '/tmp/m1.sock': aSwarm(new Error('connect ENOENT')),
      '/tmp/m22.sock': aSwarm({ isManager: false }),
      '/tmp/m333.sock': aSwarm({}, [aNode({ availability: 'drain' })], 2),
    };
    const peers = new PeerClients({ swarm: (e) => byPath[(e as { socketPath: string }).socketPath]!, etcd: () => okEtcd });
    const hints = {};
    const s = await observeCluster({
      cluster: 'c',
      provider: aProvider(async () => [aManager('m1'), aManager('m22'), aManager('m333')]),
      peers,
      hints,
    });
    expect(s.swarm).toMatchObject({ status: 'ok', value: { initialized: true, nodes: [{ availability: 'drain', runningTasks: 2 }] } });
    expect(hints).toEqual({ swarmManagerId: 'm333' });
  });

  it('says the swarm is not initialised when every manager engine answers inactive', async () => {
    const peers = new PeerClients({ swarm: () => aSwarm({ isManager: false, localNodeState: 'inactive' }), etcd: () => okEtcd });
    const s = await observeCluster({ cluster: 'c', provider: aProvider(async () => [aManager('m1')]), peers });
    expect(s.swarm).toEqual({ status: 'ok', value: { initialized: false, nodes: [] } });
  });

  it('says unavailable when no manager engine answers (fault injected)', async () => {
    const peers = new PeerClients({ swarm: () => aSwarm(new Error('connect ECONNREFUSED')), etcd: () => okEtcd });
    const s = await observeCluster({ cluster: 'c', provider: aProvider(async () => [aManager('m1')]), peers });
    expect(s.swarm.status).toBe('unavailable');
    expect(s.swarm.status === 'unavailable' && s.swarm.error).toContain('m1: connect ECONNREFUSED');
  });
});
