// The simulator's state: one cluster's instances, swarm and etcd in one consistent
// model, so every port (Provider, SwarmApi, EtcdMembershipApi) sees the same world.
import type { InstanceState } from '../../model/snapshot.ts';
import type { Role } from '../../spec/schema.ts';

export type Cause = 'controller' | 'fault' | 'agent';

export interface SimInstance {
  readonly id: string;
  readonly cluster: string;
  readonly role: Role;
  state: InstanceState;
  readonly launchedAt: number;
  /** When the instance is running and its agent starts. */
  readonly bootAt: number;
  /** When the agent joins the swarm (after boot). */
  readonly joinAt: number;
  address?: string;
  readonly zone?: string;
  readonly configHash: string;
  readonly clientToken?: string;
  readonly tags: Record<string, string>;
  /** False once the node died: it stops answering but the provider still lists it. */
  alive: boolean;
  /** Cut off from the other nodes and from the controller. */
  partitioned: boolean;
  /** Alive but not answering anyone (a hung kernel, a stuck disk): calls to it time out. */
  frozen: boolean;
  /** Only the controller cannot reach it (the nodes see each other): its calls time out. */
  cutFromController: boolean;
  /** The agent joined the swarm once; a removed node does not rejoin (it would need a reboot). */
  joinedOnce: boolean;
  /** Launched by another provider and attached with attachInstance(). */
  readonly external: boolean;
}

export interface SimSwarmNode {
  readonly id: string;
  readonly instanceId: string;
  readonly address: string;
  role: Role;
  /** A demotion/promotion in progress lands at `roleChangeAt` (demotion is asynchronous). */
  pendingRole?: { role: Role; at: number; cause: Cause };
  availability: 'active' | 'pause' | 'drain';
  version: number;
  tasks: number;
  /** When the tasks of a drained node have moved away. */
  drainedAt?: number;
}

export interface SimMember {
  readonly id: string;
  name: string;
  readonly peerURL: string;
  readonly clientURL: string;
  isLearner: boolean;
  startedAt?: number;
  /** When a started learner has caught up with the leader's log. */
  caughtUpAt?: number;
}

export interface QuorumEvent {
  readonly at: number;
  readonly raft: 'etcd' | 'swarm';
  readonly kind: 'lost' | 'regained';
  /** Who made the change that lost it. */
  readonly cause: Cause;
  readonly detail: string;
}

export interface FaultRates {
  /** Probability that a port call fails with Unavailable before doing anything. */
  readonly apiError: number;
  /** Probability that a port call fails with Throttled. */
  readonly throttle: number;
  /** Probability that a mutating call takes effect but its answer is lost (Unavailable). */
  readonly lostResponse: number;
  /** Probability that a launch fails with Capacity. */
  readonly launchFailure: number;
  /** Probability that a mutating request reaches its peer twice (a retried packet). */
  readonly duplicate?: number;
}

export const NO_FAULTS: FaultRates = { apiError: 0, throttle: 0, lostResponse: 0, launchFailure: 0, duplicate: 0 };

export type Range = readonly [number, number];

export interface SimTimings {
  readonly bootMs: Range;
  readonly joinMs: Range;
  readonly catchUpMs: Range;
  readonly demoteMs: Range;
  readonly drainMs: Range;
  /** etcd refuses member adds and removes this long after a member started ("unhealthy cluster"); promotions go through. */
  readonly reconfigCooldownMs: number;
}

export const DEFAULT_TIMINGS: SimTimings = {
  bootMs: [20_000, 60_000],
  joinMs: [2_000, 8_000],
  catchUpMs: [3_000, 15_000],
  demoteMs: [1_000, 4_000],
  drainMs: [1_000, 10_000],
  reconfigCooldownMs: 5_000,
};

/** A new instance record: alive, answering everyone, never joined. */
export function newSimInstance(
  init: Omit<SimInstance, 'alive' | 'partitioned' | 'frozen' | 'cutFromController' | 'joinedOnce'>,
): SimInstance {
  return { ...init, alive: true, partitioned: false, frozen: false, cutFromController: false, joinedOnce: false };
}
