import { describe, expect, it } from 'vitest';
import type { EtcdMember, HealthMark, Instance, Snapshot, SwarmNode } from '../model/snapshot.ts';
import { detectHealthMarks, type DetectInput, type DetectorMemory } from './detect.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const S = 1000;
const healing = { unhealthyAfterSeconds: 120, nodeStartupTimeoutSeconds: 600 };

function anInstance(o: Partial<Instance> = {}): Instance {
  return { id: 'w1', role: 'worker', state: 'running', launchedAt: T0 - 3600 * S, address: '127.9.0.2', configHash: 'h', tags: {}, ...o };
}
function aNode(o: Partial<SwarmNode> = {}): SwarmNode {
  return {
    id: 'n-w1',
    role: 'worker',
    availability: 'active',
    state: 'ready',
    leader: false,
    instanceId: 'w1',
    address: '127.9.0.2',
    version: 1,
    ...o,
  };
}
function aMember(o: Partial<EtcdMember> = {}): EtcdMember {
  return {
    id: '1',
    name: 'm1',
    peerURLs: ['http://127.9.0.5:2380'],
    clientURLs: ['http://127.9.0.5:2379'],
    isLearner: false,
    healthy: true,
    leader: true,
    ...o,
  };
}
const manager = anInstance({ id: 'm1', role: 'manager', address: '127.9.0.5' });
const managerNode = aNode({ id: 'n-m1', role: 'manager', instanceId: 'm1', address: '127.9.0.5', reachability: 'reachable', leader: true });

type Snap = DetectInput['snapshot'];
function aSnapshot(
  o: {
    instances?: Instance[] | 'unavailable';
    nodes?: SwarmNode[] | 'unavailable';
    members?: EtcdMember[] | 'unavailable';
    marks?: HealthMark[];
  } = {},
): Snap {
  const src = <T>(v: T | 'unavailable') =>
    v === 'unavailable' ? { status: 'unavailable' as const, error: 'boom' } : { status: 'ok' as const, value: v };
  return {
    instances: src(o.instances ?? [anInstance(), manager]),
    swarm: o.nodes === 'unavailable' ? src('unavailable') : src({ initialized: true, nodes: o.nodes ?? [aNode(), managerNode] }),
    etcd: o.members === 'unavailable' ? src('unavailable') : src({ members: o.members ?? [aMember()], alarms: [] }),
    marks: o.marks ?? [],
  } as Pick<Snapshot, 'instances' | 'swarm' | 'etcd' | 'marks'>;
}
function aMark(o: Partial<HealthMark> = {}): HealthMark {
  return { instanceId: 'w1', source: 'detector:swarm', reason: 'r', since: T0 - 200 * S, expiresAt: T0 + 500 * S, ...o };
}
const run = (snapshot: Snap, memory: DetectorMemory = {}, now = T0) => detectHealthMarks({ snapshot, healing, memory, now });
const refs = (r: { set: readonly { instanceId: string; source: string }[] }) => r.set.map((m) => `${m.instanceId}/${m.source}`);

describe('detectHealthMarks', () => {
  const table: { name: string; snapshot: Snap; memory?: DetectorMemory; set: string[]; clear?: string[] }[] = [
    { name: 'healthy cluster: nothing', snapshot: aSnapshot(), set: [] },
    {
      name: 'worker down, first seen now: only remembered',
      snapshot: aSnapshot({ nodes: [aNode({ state: 'down' }), managerNode] }),
      set: [],
    },
    {
      name: 'worker down for less than unhealthyAfter: no mark',
      snapshot: aSnapshot({ nodes: [aNode({ state: 'down' }), managerNode] }),
      memory: { 'w1/detector:swarm': T0 - 119 * S },
      set: [],
    },
    {
      name: 'worker down for unhealthyAfter: marked',
      snapshot: aSnapshot({ nodes: [aNode({ state: 'down' }), managerNode] }),
      memory: { 'w1/detector:swarm': T0 - 120 * S },
      set: ['w1/detector:swarm'],
    },
    {
      name: 'worker unknown for long: marked',
      snapshot: aSnapshot({ nodes: [aNode({ state: 'unknown' }), managerNode] }),
      memory: { 'w1/detector:swarm': T0 - 500 * S },
      set: ['w1/detector:swarm'],
    },
    {
      name: 'down node of a terminating instance: ignored',
      snapshot: aSnapshot({ instances: [anInstance({ state: 'shutting-down' }), manager], nodes: [aNode({ state: 'down' }), managerNode] }),
      memory: { 'w1/detector:swarm': T0 - 500 * S },
      set: [],
    },
    {
      name: 'down node swarmkeeper did not launch: ignored',
      snapshot: aSnapshot({ instances: [manager], nodes: [aNode({ state: 'down', instanceId: undefined }), managerNode] }),
      set: [],
    },
    {
      name: 'instance never joined within the startup timeout: marked at once',
      snapshot: aSnapshot({ instances: [anInstance({ launchedAt: T0 - 600 * S }), manager], nodes: [managerNode] }),
      set: ['w1/detector:startup'],
    },
    {
      name: 'instance still within its startup timeout: nothing',
      snapshot: aSnapshot({ instances: [anInstance({ launchedAt: T0 - 599 * S }), manager], nodes: [managerNode] }),
      set: [],
    },
    {
      name: 'etcd member not responding for unhealthyAfter: manager marked',
      snapshot: aSnapshot({ members: [aMember({ healthy: false })] }),
      memory: { 'm1/detector:etcd': T0 - 130 * S },
      set: ['m1/detector:etcd'],
    },
    {
      name: 'unstarted learner (empty name) of a young manager: startup timeout covers it',
      snapshot: aSnapshot({
        instances: [anInstance(), { ...manager, launchedAt: T0 - 300 * S }],
        members: [aMember({ name: '', isLearner: true, healthy: false })],
      }),
      memory: { 'm1/detector:etcd': T0 - 200 * S },
      set: [],
    },
    {
      name: 'etcd health not asked (undefined): nothing',
      snapshot: aSnapshot({ members: [aMember({ healthy: undefined })] }),
      set: [],
    },
    {
      name: 'EC2 status checks failing for unhealthyAfter: marked',
      snapshot: aSnapshot({ instances: [anInstance({ statusChecksOk: false }), manager] }),
      memory: { 'w1/detector:ec2': T0 - 121 * S },
      set: ['w1/detector:ec2'],
    },
    {
      name: 'recovered node: its detector mark is cleared',
      snapshot: aSnapshot({ marks: [aMark()] }),
      set: [],
      clear: ['w1/detector:swarm'],
    },
    {
      name: 'alert marks are never cleared by detectors',
      snapshot: aSnapshot({ marks: [aMark({ source: 'alert' })] }),
      set: [],
    },
    {
      name: 'swarm unreadable: swarm marks kept, not cleared, not set',
      snapshot: aSnapshot({ nodes: 'unavailable', marks: [aMark()] }),
      memory: { 'w1/detector:swarm': T0 - 500 * S },
      set: [],
    },
    {
      name: 'mark of a vanished instance is cleared',
      snapshot: aSnapshot({ instances: [manager], nodes: [managerNode], marks: [aMark({ instanceId: 'gone' })] }),
      set: [],
      clear: ['gone/detector:swarm'],
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      const r = run(row.snapshot, row.memory);
      expect(refs(r)).toEqual(row.set);
      expect(r.clear.map((c) => `${c.instanceId}/${c.source}`)).toEqual(row.clear ?? []);
    });
  }

  it('counts the hold-down across cycles and keeps the first-seen time as since', () => {
    const snap = aSnapshot({ nodes: [aNode({ state: 'down' }), managerNode] });
    const first = run(snap, {}, T0);
    expect(first.set).toEqual([]);
    expect(first.memory['w1/detector:swarm']).toBe(T0);
    const second = run(snap, first.memory, T0 + 60 * S);
    expect(second.set).toEqual([]);
    const third = run(snap, second.memory, T0 + 120 * S);
    expect(third.set).toHaveLength(1);
    expect(third.set[0]).toMatchObject({ instanceId: 'w1', source: 'detector:swarm', since: T0, expiresAt: T0 + 120 * S + 600 * S });
    expect(third.set[0]?.reason).toContain('down');
  });

  it('forgets a suspicion when the node recovers before the hold-down ends', () => {
    const down = run(aSnapshot({ nodes: [aNode({ state: 'down' }), managerNode] }), {}, T0);
    const up = run(aSnapshot(), down.memory, T0 + 60 * S);
    expect(up.memory).toEqual({});
    const downAgain = run(aSnapshot({ nodes: [aNode({ state: 'down' }), managerNode] }), up.memory, T0 + 130 * S);
    expect(downAgain.set).toEqual([]);
  });

  it('refreshes an existing mark only when half its lifetime is gone, keeping its since', () => {
    const snap = (expiresAt: number) =>
      aSnapshot({ nodes: [aNode({ state: 'down' }), managerNode], marks: [aMark({ since: T0 - 900 * S, expiresAt })] });
    const memory = { 'w1/detector:swarm': T0 - 150 * S };
    expect(run(snap(T0 + 400 * S), memory).set).toEqual([]);
    const refreshed = run(snap(T0 + 200 * S), memory).set;
    expect(refreshed).toHaveLength(1);
    expect(refreshed[0]?.since).toBe(T0 - 900 * S);
  });

  it('keeps the memory of sources it could not read', () => {
    const r = run(aSnapshot({ members: 'unavailable' }), { 'm1/detector:etcd': T0 - 50 * S });
    expect(r.memory).toEqual({ 'm1/detector:etcd': T0 - 50 * S });
  });
});
