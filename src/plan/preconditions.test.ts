// checkPrecondition(): the executor's re-check on a fresh observation, one row per
// answer that matters (ok, satisfied, refused with the rule that refused).
import { describe, expect, it } from 'vitest';
import { aManager, anOperation, aSnapshot, aSpec, aWorker, NOW } from '../../test/unit/builders.ts';
import { checkPrecondition } from './preconditions.ts';
import type { Step } from './steps.ts';
import type { Snapshot } from '../model/snapshot.ts';

const spec = aSpec({ managers: 3, workers: 2 });
const healthy = aSnapshot({ spec, nodes: [aManager(), aManager(), aManager(), aWorker(), aWorker()] });
const base = { rule: 'converge' as const, reason: 'test' };

interface Row {
  readonly name: string;
  readonly step: Step;
  readonly snapshot: Snapshot;
  readonly expect: 'ok' | 'satisfied' | `refused:${string}`;
  /** Default: the 3 + 2 spec above, not being deleted. */
  readonly spec?: ReturnType<typeof aSpec>;
}

const deleting = aSpec({ managers: 3, workers: 2, deletionRequestedAt: NOW - 60_000 });
const lastManager = aSnapshot({ spec: deleting, nodes: [aManager({ leader: true })] });

/** m3, a swarm worker, promoted in the swarm while the journal's last learner add (of `addedFor`) started `addStartedAgoMs` ago. */
function swarmPromoteOfM3(what: string, member: 'none' | 'learner', addedFor: string, addStartedAgoMs: number, expect: Row['expect']): Row {
  return {
    name: `swarm promote ${what}`,
    step: { ...base, kind: 'swarm.promote', instanceId: 'm3', nodeId: 'node-m3' },
    snapshot: aSnapshot({
      spec,
      nodes: [aManager(), aManager(), aManager({ member, swarmRole: 'worker' })],
      operations: [anOperation({ stepKind: 'etcd.addLearner', target: addedFor, state: 'done', startedAt: NOW - addStartedAgoMs })],
    }),
    expect,
  };
}

const rows: Row[] = [
  {
    name: 'demote with quorum to spare',
    step: { ...base, kind: 'swarm.demote', instanceId: 'm2', nodeId: 'node-m2' },
    snapshot: healthy,
    expect: 'ok',
  },
  {
    name: 'demote when another manager died meanwhile (2 healthy of 3)',
    step: { ...base, kind: 'swarm.demote', instanceId: 'm2', nodeId: 'node-m2' },
    snapshot: aSnapshot({ spec, nodes: [aManager(), aManager(), aManager({ healthy: false }), aWorker(), aWorker()] }),
    expect: 'refused:R5-projected-quorum',
  },
  {
    name: 'demote of a node already a worker',
    step: { ...base, kind: 'swarm.demote', instanceId: 'w1', nodeId: 'node-w1' },
    snapshot: healthy,
    expect: 'satisfied',
  },
  {
    name: 'destructive step on an incomplete observation',
    step: { ...base, kind: 'instance.terminate', instanceId: 'w1', role: 'worker' },
    snapshot: aSnapshot({ spec, nodes: [aManager(), aWorker()], unavailable: ['etcd'] }),
    expect: 'refused:R1-complete-observation',
  },
  {
    name: 'terminate a manager still in etcd',
    step: { ...base, kind: 'instance.terminate', instanceId: 'm3', role: 'manager' },
    snapshot: healthy,
    expect: 'refused:R7-manager-removal-order',
  },
  {
    name: 'terminate of a gone instance',
    step: { ...base, kind: 'instance.terminate', instanceId: 'gone', role: 'worker' },
    snapshot: healthy,
    expect: 'satisfied',
  },
  {
    name: 'remove the etcd leader',
    step: { ...base, kind: 'etcd.removeMember', memberId: 'e-m1', instanceId: 'm1' },
    snapshot: aSnapshot({ spec, nodes: [aManager({ leader: true, swarmRole: 'worker' }), aManager(), aManager()] }),
    expect: 'refused:R7-manager-removal-order',
  },
  {
    name: 'remove a member still a swarm manager',
    step: { ...base, kind: 'etcd.removeMember', memberId: 'e-m3', instanceId: 'm3' },
    snapshot: healthy,
    expect: 'refused:R7-manager-removal-order',
  },
  {
    name: 'remove a demoted healthy member (3 to 2 healthy)',
    step: { ...base, kind: 'etcd.removeMember', memberId: 'e-m3', instanceId: 'm3' },
    snapshot: aSnapshot({ spec, nodes: [aManager(), aManager(), aManager({ swarmRole: 'worker' })] }),
    expect: 'ok',
  },
  {
    name: 'remove a healthy member when two others are dead (2 healthy of 4 after)',
    step: { ...base, kind: 'etcd.removeMember', memberId: 'e-m3', instanceId: 'm3' },
    snapshot: aSnapshot({
      spec,
      nodes: [
        aManager(),
        aManager(),
        aManager({ swarmRole: 'worker' }),
        aManager({ healthy: false, swarmRole: 'worker' }),
        aManager({ healthy: false, swarmRole: 'worker' }),
      ],
    }),
    expect: 'refused:R5-projected-quorum',
  },
  {
    name: 'promote a learner not caught up',
    step: { ...base, kind: 'etcd.promote', instanceId: 'm4', memberId: 'e-m4' },
    snapshot: aSnapshot({
      spec,
      nodes: [aManager(), aManager(), aManager(), aManager({ member: 'learner', caughtUp: false, swarmRole: 'worker' })],
    }),
    expect: 'refused:R6-replace-order',
  },
  {
    name: 'add a learner while another exists',
    step: { ...base, kind: 'etcd.addLearner', instanceId: 'm4', peerURL: 'http://10.0.1.4:2380' },
    snapshot: aSnapshot({
      spec,
      nodes: [
        aManager(),
        aManager(),
        aManager({ member: 'learner', swarmRole: 'worker' }),
        aManager({ member: 'none', swarmRole: 'worker' }),
      ],
    }),
    expect: 'refused:R6-replace-order',
  },
  {
    // Right after `swarm init` the founder's node reads 'unknown' until it registers with
    // its own dispatcher; the raft leader answering the node list still holds quorum.
    name: 'add a learner while the swarm founder, its leader, is still registering',
    step: { ...base, kind: 'etcd.addLearner', instanceId: 'm2', peerURL: 'http://10.0.1.2:2380' },
    snapshot: aSnapshot({
      spec,
      nodes: [
        aManager({ leader: true, swarmState: 'unknown' }),
        aManager({ member: 'none', joined: false }),
        aManager({ member: 'none', joined: false }),
      ],
    }),
    expect: 'ok',
  },
  {
    name: 'quorum lost: only the leader counts while registering, not other managers',
    step: { ...base, kind: 'etcd.addLearner', instanceId: 'm4', peerURL: 'http://10.0.1.4:2380' },
    snapshot: aSnapshot({
      spec,
      nodes: [
        aManager({ leader: true, swarmState: 'unknown' }),
        aManager({ swarmState: 'unknown' }),
        aManager({ swarmState: 'unknown' }),
        aManager({ member: 'none', swarmRole: 'worker' }),
      ],
    }),
    expect: 'refused:R12-quorum-lost-freeze',
  },
  {
    name: 'add a learner that exists (a lost answer)',
    step: { ...base, kind: 'etcd.addLearner', instanceId: 'm3', peerURL: 'http://10.0.1.3:2380' },
    snapshot: healthy,
    expect: 'satisfied',
  },
  {
    name: 'swarm promote before etcd promote',
    step: { ...base, kind: 'swarm.promote', instanceId: 'm3', nodeId: 'node-m3' },
    snapshot: aSnapshot({ spec, nodes: [aManager(), aManager(), aManager({ member: 'learner', swarmRole: 'worker' })] }),
    expect: 'refused:R6-replace-order',
  },
  swarmPromoteOfM3('of a non-member while etcd refuses member adds (its 5 s window)', 'none', 'm2', 2000, 'ok'),
  swarmPromoteOfM3('of a non-member once etcd takes member adds again', 'none', 'm2', 6000, 'refused:R6-replace-order'),
  swarmPromoteOfM3(
    'of a learner, even inside the window (its etcd promotion comes first)',
    'learner',
    'm3',
    1000,
    'refused:R6-replace-order',
  ),
  {
    name: 'membership step while the journal has another in flight',
    step: { ...base, kind: 'swarm.demote', instanceId: 'm2', nodeId: 'node-m2' },
    snapshot: aSnapshot({
      spec,
      nodes: [aManager(), aManager(), aManager()],
      operations: [anOperation({ stepKind: 'etcd.addLearner', target: 'm9' })],
    }),
    expect: 'refused:R3-one-membership-change',
  },
  {
    name: 'the same membership step in flight (resume)',
    step: { ...base, kind: 'swarm.demote', instanceId: 'm2', nodeId: 'node-m2' },
    snapshot: aSnapshot({
      spec,
      nodes: [aManager(), aManager(), aManager()],
      operations: [anOperation({ stepKind: 'swarm.demote', target: 'm2' })],
    }),
    expect: 'ok',
  },
  {
    name: 'drain that would break maxUnavailable',
    step: { ...base, kind: 'swarm.drain', instanceId: 'w1', nodeId: 'node-w1', minReadyAfter: 2 },
    snapshot: healthy,
    expect: 'refused:R9-surge-unavailable',
  },
  {
    name: 'launch already done (token listed)',
    step: { ...base, kind: 'instance.launch', role: 'worker', count: 1, clientToken: 'tok-1', configHash: 'x' },
    snapshot: aSnapshot({ spec, nodes: [aManager(), aWorker({ clientToken: 'tok-1' })] }),
    expect: 'satisfied',
  },
  {
    name: 'launch planned for a larger spec, resumed after the spec shrank (1 live manager of 1 + 2 would exceed 1 + 1)',
    step: { ...base, kind: 'instance.launch', role: 'manager', count: 2, clientToken: 'tok-old', configHash: 'x', maxRoleInstances: 3 },
    snapshot: aSnapshot({ spec: aSpec({ managers: 1, workers: 0 }), nodes: [aManager()] }),
    spec: aSpec({ managers: 1, workers: 0 }),
    expect: 'refused:R9-surge-unavailable',
  },
  {
    name: 'launch beyond the surge bound',
    step: { ...base, kind: 'instance.launch', role: 'worker', count: 1, clientToken: 'tok-2', configHash: 'x', maxRoleInstances: 2 },
    snapshot: healthy,
    expect: 'refused:R9-surge-unavailable',
  },
  {
    name: 'manager launch while another manager joins (a launch changes no membership)',
    step: { ...base, kind: 'instance.launch', role: 'manager', count: 1, clientToken: 'tok-m', configHash: 'x', maxRoleInstances: 3 },
    snapshot: aSnapshot({ spec, nodes: [aManager(), aManager({ swarmRole: 'worker', member: 'learner' })] }),
    expect: 'ok',
  },
  {
    name: 'manager launch while the first manager initialises: the init claim is create-if-absent, only the count bounds it',
    step: { ...base, kind: 'instance.launch', role: 'manager', count: 2, clientToken: 'tok-m', configHash: 'x', maxRoleInstances: 3 },
    snapshot: aSnapshot({ spec, nodes: [aManager({ joined: false, member: 'none', launchedAt: NOW - 1_000 })], swarmInitialized: false }),
    expect: 'ok',
  },
  {
    name: 'manager batch beyond the desired count',
    step: { ...base, kind: 'instance.launch', role: 'manager', count: 2, clientToken: 'tok-m', configHash: 'x', maxRoleInstances: 3 },
    snapshot: aSnapshot({ spec, nodes: [aManager(), aManager({ swarmRole: 'worker', member: 'none' })] }),
    expect: 'refused:R9-surge-unavailable',
  },
  {
    name: 'publish endpoints naming a voter that is not a swarm manager yet',
    step: { ...base, kind: 'cluster.publishEndpoints', clientURLs: ['http://10.0.1.1:2379', 'http://10.0.1.2:2379'] },
    snapshot: aSnapshot({ spec, nodes: [aManager(), aManager({ swarmRole: 'worker' })] }),
    expect: 'refused:R6-replace-order',
  },
  {
    name: 'publish endpoints naming full members only',
    step: { ...base, kind: 'cluster.publishEndpoints', clientURLs: ['http://10.0.1.1:2379', 'http://10.0.1.2:2379'] },
    snapshot: aSnapshot({ spec, nodes: [aManager(), aManager(), aManager({ swarmRole: 'worker' })] }),
    expect: 'ok',
  },
  {
    name: 'remove a swarm node that is still a manager',
    step: { ...base, kind: 'swarm.removeNode', nodeId: 'node-m1', instanceId: 'm1', force: true },
    snapshot: healthy,
    expect: 'refused:R7-manager-removal-order',
  },
  {
    name: 'quorum lost: no membership step',
    step: { ...base, kind: 'etcd.removeMember', memberId: 'e-m3', instanceId: 'm3' },
    snapshot: aSnapshot({
      spec,
      nodes: [aManager(), aManager({ unreachable: true }), aManager({ unreachable: true, swarmRole: 'worker' })],
    }),
    expect: 'refused:R12-quorum-lost-freeze',
  },
  {
    name: 'terminate the last node of a cluster being deleted',
    step: { ...base, kind: 'instance.terminate', instanceId: 'm1', role: 'manager', final: true },
    snapshot: lastManager,
    spec: deleting,
    expect: 'ok',
  },
  {
    name: 'the last node goes only when the cluster is being deleted',
    step: { ...base, kind: 'instance.terminate', instanceId: 'm1', role: 'manager', final: true },
    snapshot: lastManager,
    expect: 'refused:cascade-delete',
  },
  {
    name: 'the last node goes only as the very last',
    step: { ...base, kind: 'instance.terminate', instanceId: 'm1', role: 'manager', final: true },
    snapshot: aSnapshot({ spec: deleting, nodes: [aManager(), aWorker()] }),
    spec: deleting,
    expect: 'refused:cascade-delete',
  },
  {
    name: 'release with an instance left',
    step: { ...base, kind: 'cluster.release' },
    snapshot: lastManager,
    spec: deleting,
    expect: 'refused:cascade-delete',
  },
  {
    name: 'release with no instance left',
    step: { ...base, kind: 'cluster.release' },
    snapshot: aSnapshot({ spec: deleting, nodes: [] }),
    spec: deleting,
    expect: 'ok',
  },
  {
    name: 'release when the instances cannot be listed',
    step: { ...base, kind: 'cluster.release' },
    snapshot: aSnapshot({ spec: deleting, nodes: [], unavailable: ['instances'] }),
    spec: deleting,
    expect: 'refused:R1-complete-observation',
  },
  {
    name: 'operator availability already set',
    step: { ...base, kind: 'swarm.setAvailability', instanceId: 'w1', nodeId: 'node-w1', availability: 'active' },
    snapshot: healthy,
    expect: 'satisfied',
  },
  {
    name: 'operator drain of a node that is gone',
    step: { ...base, kind: 'swarm.setAvailability', instanceId: 'w9', nodeId: 'node-w9', availability: 'drain' },
    snapshot: healthy,
    expect: 'refused:operator-request',
  },
];

describe('checkPrecondition()', () => {
  it.each(rows)('$name', (row) => {
    const r = checkPrecondition(row.step, row.snapshot, NOW, row.spec ?? spec);
    expect(r.status === 'refused' ? `refused:${r.rule}` : r.status).toBe(row.expect);
  });
});
