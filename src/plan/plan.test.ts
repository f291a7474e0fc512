// Table-driven planner tests, one row per situation the safety rules speak about, on
// hand-written snapshots (test/unit/builders.ts). Each row states the steps expected
// (kind and target, in order) and the holds that must explain what was held back.
import { describe, expect, it } from 'vitest';
import { aConvergedCluster, aManager, anOperation, aSnapshot, aSpec, aWorker, NOW, T0 } from '../../test/unit/builders.ts';
import { plan } from './plan.ts';
import { MEMBERSHIP_STEP_KINDS, type PlanResult, type Step } from './steps.ts';
import type { Snapshot } from '../model/snapshot.ts';
import type { ResolvedSpec } from '../spec/defaults.ts';

export function stepLine(s: Step): string {
  switch (s.kind) {
    case 'instance.launch':
      return `launch ${s.role}${s.count > 1 ? `x${s.count}` : ''}${s.zone ? `@${s.zone}` : ''}`;
    case 'etcd.moveLeader':
      return `etcd.moveLeader ${s.fromMemberId}->${s.toMemberId}`;
    case 'etcd.removeMember':
      return `etcd.removeMember ${s.instanceId ?? s.memberId}`;
    case 'swarm.removeNode':
      return `swarm.removeNode ${s.instanceId ?? s.nodeId}`;
    case 'cluster.publishEndpoints':
      return `publishEndpoints ${s.clientURLs.length}`;
    case 'backup.create':
      return `backup.create ${s.purpose}`;
    case 'cluster.release':
      return 'cluster.release';
    default:
      return `${s.kind} ${s.instanceId}`;
  }
}

interface Row {
  readonly name: string;
  readonly spec: ResolvedSpec;
  readonly snapshot: Snapshot;
  readonly steps: readonly string[];
  readonly holds?: readonly string[];
  readonly phase?: PlanResult['phase'];
}

const dead = { healthy: false } as const;
const spec3 = aSpec({ managers: 3, workers: 2 });
const spec5 = aSpec({ managers: 5, workers: 0 });

const rows: Row[] = [
  { name: 'converged cluster: nothing to do', spec: spec3, snapshot: aConvergedCluster(3, 2), steps: [], phase: 'Ready' },
  {
    name: 'nothing exists: every manager launched at once (one claims initialisation, the others join it)',
    spec: spec3,
    snapshot: aSnapshot({ spec: spec3, nodes: [] }),
    steps: ['launch managerx3'],
    holds: ['WaitingForNodes'],
    phase: 'Pending',
  },
  {
    name: 'first manager booting: wait, launch nothing else',
    spec: spec3,
    snapshot: aSnapshot({
      spec: spec3,
      nodes: [aManager({ joined: false, member: 'none', launchedAt: NOW - 10_000 })],
      swarmInitialized: false,
    }),
    steps: [],
    holds: ['WaitingForNodes'],
    phase: 'Pending',
  },
  {
    name: '3 managers, one dead: remove it first (drain, demote), no launch yet',
    spec: spec3,
    snapshot: aSnapshot({ spec: spec3, nodes: [aManager(), aManager(), aManager(dead), aWorker(), aWorker()] }),
    steps: ['swarm.drain m3', 'swarm.demote m3'],
    phase: 'Degraded',
  },
  {
    name: 'dead manager already demoted: remove its etcd member (projection: 2 healthy of 2)',
    spec: spec3,
    snapshot: aSnapshot({
      spec: spec3,
      nodes: [aManager(), aManager(), aManager({ healthy: false, availability: 'drain', swarmRole: 'worker' }), aWorker(), aWorker()],
    }),
    steps: ['etcd.removeMember m3'],
  },
  {
    name: 'dead manager out of both rafts: remove node, terminate, publish endpoints',
    spec: spec3,
    snapshot: aSnapshot({
      spec: spec3,
      nodes: [
        aManager(),
        aManager(),
        aManager({ healthy: false, availability: 'drain', swarmRole: 'worker', member: 'none' }),
        aWorker(),
        aWorker(),
      ],
      publishedClientURLs: ['http://10.0.1.1:2379', 'http://10.0.1.2:2379', 'http://10.0.1.3:2379'],
    }),
    steps: ['swarm.removeNode m3', 'instance.terminate m3', 'publishEndpoints 2'],
  },
  {
    name: '2 healthy managers of 3 wanted: add one (stable gate passes)',
    spec: spec3,
    snapshot: aSnapshot({ spec: spec3, nodes: [aManager(), aManager(), aWorker(), aWorker()] }),
    steps: ['launch manager'],
  },
  {
    name: '1 to 3 (stable): both missing managers launched at once, one batch (a launch changes no membership)',
    spec: spec3,
    snapshot: aSnapshot({ spec: spec3, nodes: [aManager(), aWorker(), aWorker()] }),
    steps: ['launch managerx2'],
  },
  {
    name: '1 to 5 across zones: one launch per zone, all in one plan',
    spec: aSpec({ managers: 5, workers: 0, provider: { sim: { zones: ['a', 'b', 'c'] } } }),
    snapshot: aSnapshot({ spec: aSpec({ managers: 5, workers: 0 }), nodes: [aManager({ zone: 'a' })] }),
    steps: ['launch managerx2@b', 'launch manager@c', 'launch manager@a'],
  },
  {
    name: 'every manager booting, none initialised yet: wait, nothing launched, workers wait too',
    spec: spec3,
    snapshot: aSnapshot({
      spec: spec3,
      nodes: [1, 2, 3].map(() => aManager({ joined: false, member: 'none', launchedAt: NOW - 5_000 })),
      swarmInitialized: false,
    }),
    steps: [],
    holds: ['WaitingForNodes'],
  },
  {
    name: 'every manager an orphan, none ever initialised: clean them all up (the next cycle starts over)',
    spec: spec3,
    snapshot: aSnapshot({
      spec: spec3,
      nodes: [1, 2, 3].map(() => aManager({ joined: false, member: 'none', launchedAt: T0 })),
      swarmInitialized: false,
    }),
    steps: [
      'instance.markOrphan m1',
      'instance.terminate m1',
      'instance.markOrphan m2',
      'instance.terminate m2',
      'instance.markOrphan m3',
      'instance.terminate m3',
    ],
  },
  {
    name: 'a fresh manager gets its etcd learner before it joins the swarm (etcd starts while it boots)',
    spec: spec3,
    snapshot: aSnapshot({
      spec: spec3,
      nodes: [aManager(), aManager({ joined: false, member: 'none', launchedAt: NOW - 2_000 }), aWorker(), aWorker()],
    }),
    steps: ['etcd.addLearner m2'],
  },
  {
    name: 'a manager the journal shows was a member before: re-added only after it joined the swarm (no stale data dir)',
    spec: spec3,
    snapshot: aSnapshot({
      spec: spec3,
      nodes: [aManager(), aManager(), aManager({ joined: false, member: 'none', launchedAt: NOW - 60_000 }), aWorker(), aWorker()],
      operations: [anOperation({ stepKind: 'etcd.removeMember', target: 'm3', state: 'done' })],
    }),
    steps: [],
    holds: ['WaitingForNodes'],
  },
  {
    name: 'a dead joining manager holds the learner slot: remediated before the booting one it blocks',
    spec: spec5,
    snapshot: aSnapshot({
      spec: spec5,
      nodes: [
        aManager(),
        aManager(),
        aManager(),
        aManager({ joined: false, member: 'none', launchedAt: NOW - 20_000 }),
        aManager({ joined: false, member: 'unstarted', instanceState: 'stopped', launchedAt: NOW - 20_000 }),
      ],
    }),
    steps: ['etcd.removeMember m5'],
  },
  {
    name: 'two managers joining, the older still booting: the one already joined as a worker gets its learner',
    spec: spec3,
    snapshot: aSnapshot({
      spec: spec3,
      nodes: [
        aManager(),
        aManager({ joined: false, member: 'none', launchedAt: NOW - 10_000 }),
        aManager({ swarmRole: 'worker', member: 'none', launchedAt: NOW - 9_000 }),
        aWorker(),
        aWorker(),
      ],
    }),
    steps: ['etcd.addLearner m3'],
  },
  {
    name: 'two managers joining, one a learner: only its path continues, the other waits for its learner (one at a time)',
    spec: spec3,
    snapshot: aSnapshot({
      spec: spec3,
      nodes: [
        aManager(),
        aManager({ swarmRole: 'worker', member: 'none', launchedAt: NOW - 10_000 }),
        aManager({ swarmRole: 'worker', member: 'learner', launchedAt: NOW - 9_000 }),
        aWorker(),
        aWorker(),
      ],
    }),
    steps: ['etcd.promote m3'],
  },
  {
    name: 'two managers joining, one an etcd voter still a swarm worker: swarm promote it, nothing for the other',
    spec: spec3,
    snapshot: aSnapshot({
      spec: spec3,
      nodes: [
        aManager(),
        aManager({ swarmRole: 'worker', launchedAt: NOW - 10_000 }),
        aManager({ swarmRole: 'worker', member: 'none', launchedAt: NOW - 9_000 }),
        aWorker(),
        aWorker(),
      ],
      publishedClientURLs: ['http://10.0.1.1:2379'],
    }),
    steps: ['swarm.promote m2', 'publishEndpoints 2'],
  },
  {
    name: 'scale-up while a manager is joining: no second change, no launch until it is a full member',
    spec: aSpec({ managers: 5, workers: 0 }),
    snapshot: aSnapshot({
      spec: aSpec({ managers: 5, workers: 0 }),
      nodes: [
        aManager(),
        aManager(),
        aManager(),
        aManager({ swarmRole: 'worker', member: 'learner', caughtUp: false, launchedAt: NOW - 10_000 }),
      ],
    }),
    steps: [],
    holds: ['LearnerCatchingUp'],
  },
  {
    name: '1 to 3: the new manager joined as a worker gets an etcd learner',
    spec: spec3,
    snapshot: aSnapshot({
      spec: spec3,
      nodes: [aManager(), aManager({ swarmRole: 'worker', member: 'none', launchedAt: NOW - 60_000 }), aWorker(), aWorker()],
    }),
    steps: ['etcd.addLearner m2'],
  },
  {
    name: 'learner not caught up: wait, nothing else on the managers',
    spec: spec3,
    snapshot: aSnapshot({
      spec: spec3,
      nodes: [
        aManager(),
        aManager({ swarmRole: 'worker', member: 'learner', caughtUp: false, launchedAt: NOW - 60_000 }),
        aWorker(),
        aWorker(),
      ],
    }),
    steps: [],
    holds: ['LearnerCatchingUp'],
  },
  {
    name: 'learner not started yet (empty name): wait',
    spec: spec3,
    snapshot: aSnapshot({
      spec: spec3,
      nodes: [aManager(), aManager({ swarmRole: 'worker', member: 'unstarted', launchedAt: NOW - 60_000 }), aWorker(), aWorker()],
    }),
    steps: [],
    holds: ['LearnerCatchingUp'],
  },
  {
    name: 'learner caught up: promote it (etcd first)',
    spec: spec3,
    snapshot: aSnapshot({
      spec: spec3,
      nodes: [aManager(), aManager({ swarmRole: 'worker', member: 'learner', launchedAt: NOW - 60_000 }), aWorker(), aWorker()],
    }),
    steps: ['etcd.promote m2'],
  },
  {
    name: 'etcd voter still a swarm worker: swarm promote, then publish endpoints (the promote step waits until it is a manager)',
    spec: spec3,
    snapshot: aSnapshot({
      spec: spec3,
      nodes: [aManager(), aManager({ swarmRole: 'worker', launchedAt: NOW - 60_000 }), aWorker(), aWorker()],
      publishedClientURLs: ['http://10.0.1.1:2379'],
    }),
    steps: ['swarm.promote m2', 'publishEndpoints 2'],
  },
  {
    name: 'a new full member (etcd voter and swarm manager) is published; the missing third manager is launched',
    spec: spec3,
    snapshot: aSnapshot({
      spec: spec3,
      nodes: [aManager(), aManager(), aWorker(), aWorker()],
      publishedClientURLs: ['http://10.0.1.1:2379'],
    }),
    steps: ['launch manager', 'publishEndpoints 2'],
  },
  {
    name: '5 to 3: remove one non-leader manager (drain, demote) at a time',
    spec: aSpec({ managers: 3, workers: 0 }),
    snapshot: aSnapshot({
      spec: aSpec({ managers: 3, workers: 0 }),
      nodes: [aManager({ leader: true }), aManager(), aManager(), aManager(), aManager()],
    }),
    steps: ['swarm.drain m2', 'swarm.waitDrained m2', 'swarm.demote m2'],
  },
  {
    name: 'the leader is the one to remove (marked for deletion): move etcd leadership first',
    spec: aSpec({ managers: 3, workers: 0 }),
    snapshot: aSnapshot({
      spec: aSpec({ managers: 3, workers: 0 }),
      nodes: [aManager({ leader: true, control: { markedForDeletion: true } }), aManager(), aManager(), aManager()],
    }),
    steps: ['swarm.drain m1', 'swarm.waitDrained m1', 'etcd.moveLeader e-m1->e-m2', 'swarm.demote m1'],
  },
  {
    name: 'the controller runs on a manager: it goes last',
    spec: aSpec({ managers: 3, workers: 0 }),
    snapshot: aSnapshot({
      spec: aSpec({ managers: 3, workers: 0 }),
      nodes: [aManager({ leader: true }), aManager(), aManager(), aManager()],
      selfInstanceId: 'm2',
    }),
    steps: ['swarm.drain m3', 'swarm.waitDrained m3', 'swarm.demote m3'],
  },
  {
    name: 'partitioned majority (2 of 3 unreachable): quorum lost, freeze with the runbook',
    spec: spec3,
    snapshot: aSnapshot({
      spec: spec3,
      nodes: [aManager(), aManager({ unreachable: true }), aManager({ unreachable: true }), aWorker(), aWorker()],
    }),
    steps: [],
    holds: ['QuorumLost'],
    phase: 'Frozen',
  },
  {
    name: 'incomplete observation (etcd unreadable): no destructive step, dead manager kept',
    spec: spec3,
    snapshot: aSnapshot({ spec: spec3, nodes: [aManager(), aManager(), aManager(dead), aWorker(), aWorker()], unavailable: ['etcd'] }),
    steps: [],
    holds: ['ObservationIncomplete'],
  },
  {
    name: 'incomplete observation (swarm unreadable): a missing worker may still be launched',
    spec: spec3,
    snapshot: aSnapshot({ spec: spec3, nodes: [aManager(), aManager(), aManager(), aWorker()], unavailable: ['swarm'] }),
    steps: [],
    holds: ['ObservationIncomplete'],
  },
  {
    name: 'paused: no steps',
    spec: aSpec({ managers: 3, workers: 5, paused: true }),
    snapshot: aConvergedCluster(3, 2),
    steps: [],
    holds: ['Paused'],
    phase: 'Paused',
  },
  {
    name: 'every manager of a founded cluster stopped, no etcd member answers: frozen, nothing replaced',
    spec: spec3,
    snapshot: aSnapshot({
      spec: spec3,
      nodes: [
        aManager({ instanceState: 'stopped' }),
        aManager({ instanceState: 'stopped' }),
        aManager({ instanceState: 'stopped' }),
        aWorker(),
      ],
      unavailable: ['etcd', 'swarm'],
      publishedClientURLs: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379', 'http://10.0.0.3:2379'],
    }),
    steps: [],
    holds: ['QuorumLost'],
    phase: 'Frozen',
  },
  {
    name: 'a recovery order being prepared (fencing): nothing at all, not even a launch',
    spec: spec3,
    snapshot: { ...aSnapshot({ spec: spec3, nodes: [] }), recovery: { backup: 'prod-20261201t120000000z-scheduled', phase: 'fencing' } },
    steps: [],
    holds: ['Recovering'],
    phase: 'Frozen',
  },
  {
    name: 'a recovery order founding: managers are launched as for a new cluster',
    spec: spec3,
    snapshot: { ...aSnapshot({ spec: spec3, nodes: [] }), recovery: { backup: 'prod-20261201t120000000z-scheduled', phase: 'founding' } },
    steps: ['launch managerx3'],
    holds: ['WaitingForNodes'],
    phase: 'Pending',
  },
  {
    name: 'membership op in flight in the journal (another node): hold the next one',
    spec: spec3,
    snapshot: aSnapshot({
      spec: spec3,
      nodes: [aManager(), aManager(), aWorker(), aWorker()],
      operations: [anOperation({ stepKind: 'etcd.removeMember', target: 'm9' })],
    }),
    steps: [],
    holds: ['MembershipChangeInFlight'],
  },
  {
    name: 'phantom etcd member (no instance at its address): remove it',
    spec: spec3,
    snapshot: aSnapshot({
      spec: spec3,
      nodes: [aManager(), aManager(), aManager(), aWorker(), aWorker()],
      extraMembers: [{ id: 'e-phantom', name: '', peerURLs: ['http://10.9.9.9:2380'], clientURLs: [], isLearner: true, leader: false }],
    }),
    steps: ['etcd.removeMember e-phantom'],
  },
  {
    name: 'orphan worker (never joined within the startup timeout): mark, terminate, replace',
    spec: spec3,
    snapshot: aSnapshot({
      spec: spec3,
      nodes: [aManager(), aManager(), aManager(), aWorker(), aWorker({ joined: false, launchedAt: NOW - 700_000 })],
    }),
    steps: ['instance.markOrphan w2', 'instance.terminate w2', 'launch worker'],
  },
  {
    name: 'booting worker inside the startup timeout: wait',
    spec: spec3,
    snapshot: aSnapshot({
      spec: spec3,
      nodes: [aManager(), aManager(), aManager(), aWorker(), aWorker({ joined: false, launchedAt: NOW - 60_000 })],
    }),
    steps: [],
    phase: 'Provisioning',
  },
  {
    name: 'dead worker: drain, remove, terminate; replacement launched',
    spec: aSpec({ managers: 3, workers: 3 }),
    snapshot: aSnapshot({
      spec: aSpec({ managers: 3, workers: 3 }),
      nodes: [aManager(), aManager(), aManager(), aWorker(), aWorker(dead), aWorker()],
    }),
    steps: ['swarm.drain w2', 'swarm.removeNode w2', 'instance.terminate w2', 'launch worker'],
  },
  {
    name: 'maxUnhealthy short-circuit: 3 of 5 workers dead looks like a partition, hold',
    spec: aSpec({ managers: 3, workers: 5 }),
    snapshot: aSnapshot({
      spec: aSpec({ managers: 3, workers: 5 }),
      nodes: [aManager(), aManager(), aManager(), aWorker(), aWorker(), aWorker(dead), aWorker(dead), aWorker(dead)],
    }),
    steps: [],
    holds: ['MaxUnhealthyExceeded'],
    phase: 'Degraded',
  },
  {
    name: 'skip mark on a dead worker: hold it',
    spec: aSpec({ managers: 3, workers: 3 }),
    snapshot: aSnapshot({
      spec: aSpec({ managers: 3, workers: 3 }),
      nodes: [aManager(), aManager(), aManager(), aWorker(), aWorker({ healthy: false, control: { skipRemediation: true } }), aWorker()],
    }),
    steps: [],
    holds: ['SkipMark'],
  },
  {
    name: 'worker rollout, maxSurge 1 maxUnavailable 0: surge one first, remove nothing yet',
    spec: aSpec({ managers: 3, workers: 3, rollout: { maxSurge: 1, maxUnavailable: 0 } }),
    snapshot: aSnapshot({
      spec: aSpec({ managers: 3, workers: 3 }),
      nodes: [aManager(), aManager(), aManager(), aWorker({ outdated: true }), aWorker({ outdated: true }), aWorker({ outdated: true })],
    }),
    steps: ['launch worker'],
  },
  {
    name: 'worker rollout, maxSurge 0 maxUnavailable 1: remove one outdated first',
    spec: aSpec({ managers: 3, workers: 3, rollout: { maxSurge: 0, maxUnavailable: 1 } }),
    snapshot: aSnapshot({
      spec: aSpec({ managers: 3, workers: 3 }),
      nodes: [aManager(), aManager(), aManager(), aWorker({ outdated: true }), aWorker({ outdated: true }), aWorker({ outdated: true })],
    }),
    steps: ['swarm.drain w1', 'swarm.waitDrained w1', 'swarm.removeNode w1', 'instance.terminate w1'],
  },
  {
    name: 'manager rollout: add first (surge one), old ones stay',
    spec: aSpec({ managers: 3, workers: 0 }),
    snapshot: aSnapshot({
      spec: aSpec({ managers: 3, workers: 0 }),
      nodes: [aManager({ outdated: true }), aManager({ outdated: true }), aManager({ outdated: true })],
    }),
    steps: ['launch manager'],
  },
  {
    name: 'manager rollout after the surge: remove an outdated non-leader',
    spec: aSpec({ managers: 3, workers: 0 }),
    snapshot: aSnapshot({
      spec: aSpec({ managers: 3, workers: 0 }),
      nodes: [aManager({ outdated: true, leader: true }), aManager({ outdated: true }), aManager({ outdated: true }), aManager()],
    }),
    steps: ['swarm.drain m2', 'swarm.waitDrained m2', 'swarm.demote m2'],
  },
  {
    name: 'unstable cluster (a member reports unhealthy): voluntary scale-up waits',
    spec: spec5,
    snapshot: aSnapshot({ spec: spec5, nodes: [aManager(), aManager(), aManager({ unreachable: true })] }),
    steps: [],
    holds: ['ClusterNotStable'],
  },
  {
    name: 'scale-down 3 to 1: the last step before one member may leave two (target is 1)',
    spec: aSpec({ managers: 1, workers: 0 }),
    snapshot: aSnapshot({
      spec: aSpec({ managers: 1, workers: 0 }),
      nodes: [aManager({ leader: true }), aManager({ availability: 'drain', swarmRole: 'worker', runningTasks: 1 }), aManager()],
    }),
    steps: ['swarm.waitDrained m2', 'etcd.removeMember m2'],
  },
  {
    name: 'a manager half-removed while the spec grew back: undo (re-promote), never shrink etcd to two',
    spec: spec3,
    snapshot: aSnapshot({
      spec: spec3,
      nodes: [aManager({ leader: true }), aManager({ availability: 'drain', swarmRole: 'worker' }), aManager(), aWorker(), aWorker()],
    }),
    steps: ['swarm.promote m2', 'publishEndpoints 3'],
  },
  {
    name: 'a held removal (would leave two swarm managers) lets the manager being added finish first',
    spec: aSpec({ managers: 3, workers: 0 }),
    snapshot: aSnapshot({
      spec: aSpec({ managers: 3, workers: 0 }),
      nodes: [
        aManager({ leader: true }),
        aManager({ availability: 'drain' }),
        aManager(),
        aManager({ swarmRole: 'worker', launchedAt: NOW - 60_000 }),
      ],
    }),
    steps: ['swarm.promote m4', 'publishEndpoints 4'],
    holds: ['TwoManagersEnRoute'],
  },
  {
    name: 'a removal that waits on quorum goes after a dead phantom swarm manager and member are cleaned up',
    spec: aSpec({ managers: 1, workers: 0 }),
    snapshot: aSnapshot({
      spec: aSpec({ managers: 1, workers: 0 }),
      nodes: [aManager({ leader: true }), aManager({ availability: 'drain' })],
      extraSwarmNodes: [
        {
          id: 'node-gone',
          role: 'manager',
          availability: 'active',
          state: 'down',
          reachability: 'unreachable',
          leader: false,
          instanceId: 'i-gone',
          address: '10.0.1.9',
          version: 3,
        },
      ],
      extraMembers: [
        {
          id: 'e-gone',
          name: 'i-gone',
          peerURLs: ['http://10.0.1.9:2380'],
          clientURLs: ['http://10.0.1.9:2379'],
          isLearner: false,
          healthy: false,
          leader: false,
        },
      ],
    }),
    // The phantom leaves the published endpoints at once: only full members are published.
    steps: ['etcd.removeMember e-gone', 'publishEndpoints 2'],
  },
  {
    name: 'new workers go to the least-populated zones',
    spec: aSpec({ managers: 1, workers: 4, provider: { sim: { zones: ['a', 'b', 'c'] } } }),
    snapshot: aSnapshot({
      spec: aSpec({ managers: 1, workers: 4 }),
      nodes: [aManager({ zone: 'a' }), aWorker({ zone: 'a' }), aWorker({ zone: 'b' })],
    }),
    steps: ['launch worker@c', 'launch worker@a'],
  },
  {
    name: 'scale-down picks the oldest in the most-populated zone',
    spec: aSpec({ managers: 1, workers: 2 }),
    snapshot: aSnapshot({
      spec: aSpec({ managers: 1, workers: 2 }),
      nodes: [
        aManager(),
        aWorker({ zone: 'a', launchedAt: T0 + 5 }),
        aWorker({ zone: 'b', launchedAt: T0 + 1 }),
        aWorker({ zone: 'b', launchedAt: T0 + 2 }),
      ],
    }),
    steps: ['swarm.drain w2', 'swarm.waitDrained w2', 'swarm.removeNode w2', 'instance.terminate w2'],
  },
  {
    name: 'a drained worker whose services have tasks not running elsewhere yet: wait before removing it',
    spec: aSpec({ managers: 1, workers: 1 }),
    snapshot: aSnapshot({
      spec: aSpec({ managers: 1, workers: 1 }),
      nodes: [aManager(), aWorker(), aWorker({ availability: 'drain', runningTasks: 0, tasksNotMoved: 1 })],
    }),
    steps: ['swarm.waitDrained w2', 'swarm.removeNode w2', 'instance.terminate w2'],
  },
  {
    name: 'drain timeout passed with tasks not moved (pinned to the node): the removal holds, the node stays drained',
    spec: aSpec({ managers: 1, workers: 1, rollout: { maxSurge: 1, maxUnavailable: 1, drainTimeoutSeconds: 30 } }),
    snapshot: aSnapshot({
      spec: aSpec({ managers: 1, workers: 1 }),
      nodes: [aManager(), aWorker(), aWorker({ availability: 'drain', runningTasks: 0, tasksNotMoved: 1 })],
      operations: [anOperation({ stepKind: 'swarm.drain', target: 'w2', state: 'done', startedAt: NOW - 31_000 })],
    }),
    steps: [],
    holds: ['DrainTimedOut'],
    phase: 'Degraded',
  },
  {
    name: 'an unhealthy worker is not waited for: removed at once (swarm reschedules its tasks)',
    spec: aSpec({ managers: 1, workers: 1, rollout: { maxSurge: 1, maxUnavailable: 1, drainTimeoutSeconds: 30 } }),
    snapshot: aSnapshot({
      spec: aSpec({ managers: 1, workers: 1 }),
      nodes: [
        aManager(),
        aWorker({ availability: 'drain', runningTasks: 1, marks: [{ source: 'alert', reason: 'SwarmNodeDown', since: NOW - 600_000 }] }),
      ],
      operations: [anOperation({ stepKind: 'swarm.drain', target: 'w1', state: 'done', startedAt: NOW - 31_000 })],
    }),
    steps: ['swarm.removeNode w1', 'instance.terminate w1', 'launch worker'],
  },
  {
    name: 'dead worker held by maxUnhealthy (40% of 2 is 0): not removed, not replaced',
    spec: spec3,
    snapshot: aSnapshot({ spec: spec3, nodes: [aManager(), aManager(), aManager(), aWorker(), aWorker(dead)] }),
    steps: [],
    holds: ['MaxUnhealthyExceeded'],
  },
  {
    name: 'dead worker the spec no longer needs (0 wanted): removed without brakes',
    spec: aSpec({ managers: 3, workers: 0 }),
    snapshot: aSnapshot({ spec: aSpec({ managers: 3, workers: 0 }), nodes: [aManager(), aManager(), aManager(), aWorker(dead)] }),
    steps: ['swarm.drain w1', 'swarm.removeNode w1', 'instance.terminate w1'],
  },
];

describe('plan(): rules on hand-written snapshots', () => {
  it.each(rows)('$name', (row) => {
    const result = plan(row.spec, row.snapshot, { now: row.snapshot.observedAt });
    expect(result.steps.map(stepLine)).toEqual(row.steps);
    for (const reason of row.holds ?? []) expect(result.holds.map((h) => h.reason)).toContain(reason);
    if (row.phase) expect(result.phase).toBe(row.phase);
    // Every held-back change says why, with a rule id.
    for (const h of result.holds) {
      expect(h.rule).toMatch(/^(R\d+-[a-z-]+|converge)$/);
      expect(h.message.length).toBeGreaterThan(0);
    }
  });
});

describe('plan(): determinism and tokens', () => {
  it('is deterministic: the same input gives the same output', () => {
    const snap = aSnapshot({ spec: spec3, nodes: [aManager(), aWorker()] });
    expect(plan(spec3, snap, { now: NOW })).toEqual(plan(spec3, snap, { now: NOW }));
  });

  it('re-planning the same intent gives the same client tokens; at most 64 ASCII chars', () => {
    const spec = aSpec({ managers: 1, workers: 3 });
    const snap = aSnapshot({ spec, nodes: [aManager({ clientToken: 'prod-g1-m0' })] });
    const a = plan(spec, snap, { now: NOW }).steps.filter((s) => s.kind === 'instance.launch');
    const b = plan(spec, snap, { now: NOW + 60_000 }).steps.filter((s) => s.kind === 'instance.launch');
    // Three workers for no particular zone: one batch, one intent, one token.
    expect(a.map((s) => (s.kind === 'instance.launch' ? `${s.clientToken}x${s.count}` : ''))).toEqual(['prod-g1-w1x3']);
    expect(b).toEqual(a);
    const long = aSpec({ managers: 1, workers: 1 });
    const longName = { ...long, name: 'x'.repeat(63) };
    const s = plan(longName, aSnapshot({ spec: longName, nodes: [aManager()] }), { now: NOW }).steps[0];
    expect(s?.kind === 'instance.launch' && s.clientToken.length <= 64 && /^[\x21-\x7e]+$/.test(s.clientToken)).toBe(true);
  });

  it('a launch left in flight in the journal is re-issued with its own token, never a new one', () => {
    const spec = aSpec({ managers: 1, workers: 2 });
    const snap = aSnapshot({
      spec,
      nodes: [aManager({ clientToken: 'prod-g1-m0' }), aWorker({ clientToken: 'prod-g1-w1' })],
      operations: [anOperation({ stepKind: 'instance.launch', target: 'workerx1/prod-g1-w2', state: 'running' })],
    });
    const launches = plan(spec, snap, { now: NOW }).steps.filter((s) => s.kind === 'instance.launch');
    expect(launches.map((s) => (s.kind === 'instance.launch' ? s.clientToken : ''))).toEqual(['prod-g1-w2']);
  });

  it('a batch launch partly listed counts its missing instances as booting (no double launch)', () => {
    const spec = aSpec({ managers: 1, workers: 3 });
    const snap = aSnapshot({
      spec,
      nodes: [aManager({ clientToken: 'prod-g1-m0' }), aWorker({ clientToken: 'prod-g1-w1' })],
      operations: [anOperation({ stepKind: 'instance.launch', target: 'workerx3/prod-g1-w1', state: 'done', startedAt: NOW - 10_000 })],
    });
    const result = plan(spec, snap, { now: NOW });
    expect(result.steps.filter((s) => s.kind === 'instance.launch')).toEqual([]);
    expect(result.holds.map((h) => h.reason)).toContain('WaitingForLaunch');
  });

  it('a batch launch left in flight is re-issued whole, with its token and count', () => {
    const spec = aSpec({ managers: 3, workers: 0 });
    const snap = aSnapshot({
      spec,
      nodes: [aManager({ clientToken: 'prod-g1-m0' })],
      operations: [anOperation({ stepKind: 'instance.launch', target: 'managerx2/prod-g1-m1', state: 'running' })],
    });
    const launches = plan(spec, snap, { now: NOW }).steps.filter((s) => s.kind === 'instance.launch');
    expect(launches.map((s) => (s.kind === 'instance.launch' ? `${s.clientToken}x${s.count}` : ''))).toEqual(['prod-g1-m1x2']);
  });

  it('a launch done but not listed yet counts as booting (no double launch)', () => {
    const spec = aSpec({ managers: 1, workers: 2 });
    const snap = aSnapshot({
      spec,
      nodes: [aManager({ clientToken: 'prod-g1-m0' }), aWorker({ clientToken: 'prod-g1-w1' })],
      operations: [anOperation({ stepKind: 'instance.launch', target: 'workerx1/prod-g1-w2', state: 'done', startedAt: NOW - 10_000 })],
    });
    const result = plan(spec, snap, { now: NOW });
    expect(result.steps).toEqual([]);
    expect(result.holds.map((h) => h.reason)).toContain('WaitingForLaunch');
  });

  it('at most one membership step per plan, whatever the input', () => {
    const spec = aSpec({ managers: 5, workers: 0 });
    const snap = aSnapshot({
      spec,
      nodes: [aManager(dead), aManager(), aManager(), aManager({ swarmRole: 'worker', member: 'learner' }), aManager()],
      extraMembers: [{ id: 'e-x', name: '', peerURLs: ['http://10.9.9.9:2380'], clientURLs: [], isLearner: true, leader: false }],
    });
    const membership = plan(spec, snap, { now: NOW }).steps.filter((s) => MEMBERSHIP_STEP_KINDS.has(s.kind));
    expect(membership.length).toBeLessThanOrEqual(1);
  });
});
