// Steps: the planner's output, plain data. The executor (src/act) runs them in the
// order given, writes each to the journal before running it, and re-checks each one's
// precondition against a fresh observation first (checkPrecondition in
// src/plan/preconditions.ts), because the world may have moved since the plan.
import type { BackupPurpose } from '../model/snapshot.ts';
import type { Role } from '../spec/schema.ts';

/**
 * Safety rule ids, so output can say which rule allowed or held back a step. Each one is
 * defined, with the failure it prevents and the tests that prove it, in
 * docs/safety-rules.md (a test keeps the two lists equal).
 */
export type RuleId =
  | 'R1-complete-observation'
  | 'R2-manager-floor'
  | 'R3-one-membership-change'
  | 'R4-stable-cluster'
  | 'R5-projected-quorum'
  | 'R6-replace-order'
  | 'R7-manager-removal-order'
  | 'R8-worker-removal-order'
  | 'R9-surge-unavailable'
  | 'R10-remediation-brakes'
  | 'R11-alerts-are-evidence'
  | 'R12-quorum-lost-freeze'
  | 'R13-idempotent-journal'
  | 'R14-startup-timeout'
  | 'R15-backup-before-change'
  | 'operator-request'
  | 'cascade-delete'
  | 'converge';

interface StepBase {
  /** Why this step, in words for `swarmkeeper plan` and the journal. */
  readonly reason: string;
  /** The rule that allowed the step (or `converge` for plain convergence). */
  readonly rule: RuleId;
}

export type Step =
  /** Launch `count` instances of `role`. The client token makes a repeat a no-op. */
  | (StepBase & {
      readonly kind: 'instance.launch';
      readonly role: Role;
      readonly count: number;
      readonly clientToken: string;
      readonly configHash: string;
      readonly zone?: string;
      /** Precondition: the role's live, not-removing instances plus `count` may not exceed this (surge bound). */ readonly maxRoleInstances?: number;
    })
  /**
   * Terminate an instance. Gone already counts as done. `final`: the last node of a
   * cluster being deleted, terminated with its etcd member and swarm (nothing is left to
   * keep a quorum for).
   */
  | (StepBase & { readonly kind: 'instance.terminate'; readonly instanceId: string; readonly role: Role; readonly final?: boolean })
  /** Record that an instance never joined (rule 14); a later cycle cleans it up. */
  | (StepBase & { readonly kind: 'instance.markOrphan'; readonly instanceId: string })
  /** Add the instance's etcd member as a learner (non-voting) through a healthy member. */
  | (StepBase & { readonly kind: 'etcd.addLearner'; readonly instanceId: string; readonly peerURL: string })
  /** Promote a caught-up learner to voter. Fails (retried) until it has caught up. */
  | (StepBase & { readonly kind: 'etcd.promote'; readonly instanceId: string; readonly memberId: string })
  /** Remove a member through a surviving member. */
  | (StepBase & { readonly kind: 'etcd.removeMember'; readonly memberId: string; readonly instanceId?: string })
  /** Move etcd leadership away from a member about to be removed. */
  | (StepBase & { readonly kind: 'etcd.moveLeader'; readonly fromMemberId: string; readonly toMemberId: string })
  /** Promote a joined swarm worker to manager. */
  | (StepBase & { readonly kind: 'swarm.promote'; readonly instanceId: string; readonly nodeId: string })
  /** Demote a manager and wait until the worker role is observed (demotion is asynchronous). */
  | (StepBase & { readonly kind: 'swarm.demote'; readonly instanceId: string; readonly nodeId: string })
  /** Set availability=drain so swarm moves tasks away. */
  | (StepBase & {
      readonly kind: 'swarm.drain';
      readonly instanceId: string;
      readonly nodeId: string;
      /** Precondition for a voluntary removal: ready nodes of the role other than this one stay >= this (maxUnavailable). */ readonly minReadyAfter?: number;
    })
  /** Set availability=active again: cancels a manager removal the spec no longer wants (it was drained, maybe demoted, before the spec grew back). */
  | (StepBase & { readonly kind: 'swarm.activate'; readonly instanceId: string; readonly nodeId: string })
  /**
   * Wait until no task runs on the node and the tasks of its services run elsewhere, or
   * until the deadline (ms epoch). At the deadline `hold` fails the step (the removal
   * stops there, the node stays drained, and the next plan shows why); `proceed` goes on
   * (a cluster being deleted, an operator drain: their tasks are meant to go).
   */
  | (StepBase & {
      readonly kind: 'swarm.waitDrained';
      readonly instanceId: string;
      readonly nodeId: string;
      readonly deadline: number;
      readonly onTimeout: 'hold' | 'proceed';
    })
  /** Remove the node object from the swarm (force for a node that is down). */
  | (StepBase & { readonly kind: 'swarm.removeNode'; readonly nodeId: string; readonly instanceId?: string; readonly force: boolean })
  /** Set the availability an operator asked for (`swarmkeeper node cordon|drain|uncordon`). */
  | (StepBase & {
      readonly kind: 'swarm.setAvailability';
      readonly instanceId: string;
      readonly nodeId: string;
      readonly availability: 'active' | 'pause' | 'drain';
    })
  /** Publish the managers' etcd client URLs so workers' gateways follow membership. */
  | (StepBase & { readonly kind: 'cluster.publishEndpoints'; readonly clientURLs: readonly string[] })
  /**
   * Take a backup: an etcd snapshot streamed from a healthy member plus the swarm's
   * exported state, stored, verified and pruned to the retention. `membership` is the
   * fingerprint it covers (src/plan/backups.ts). Changes nothing in the cluster.
   */
  | (StepBase & { readonly kind: 'backup.create'; readonly purpose: Exclude<BackupPurpose, 'manual'>; readonly membership: string })
  /** Cascading deletion, last step: no instance is left; release the cluster (remove its keys). */
  | (StepBase & { readonly kind: 'cluster.release' });

export type StepKind = Step['kind'];

/** Steps that change etcd or swarm raft membership: at most one in flight (rule 3). */
export const MEMBERSHIP_STEP_KINDS: ReadonlySet<StepKind> = new Set<StepKind>([
  'etcd.addLearner',
  'etcd.promote',
  'etcd.removeMember',
  'swarm.promote',
  'swarm.demote',
]);

/** Steps that lose something if taken on a wrong picture of the world (rule 1). */
export const DESTRUCTIVE_STEP_KINDS: ReadonlySet<StepKind> = new Set<StepKind>([
  'instance.terminate',
  'etcd.removeMember',
  'swarm.demote',
  'swarm.drain',
  'swarm.setAvailability',
  'swarm.removeNode',
  'cluster.release',
]);

/**
 * Why the planner did not do something it otherwise would: shown in status and `plan`.
 * `rule` is defined in docs/safety-rules.md.
 */
export interface PlanHold {
  readonly rule: RuleId;
  readonly reason: string;
  readonly message: string;
}

export interface PlanResult {
  readonly steps: readonly Step[];
  readonly holds: readonly PlanHold[];
  /** Cluster phase as judged from the snapshot. */
  readonly phase: 'Pending' | 'Provisioning' | 'Ready' | 'Degraded' | 'Frozen' | 'Paused' | 'Deleting';
}
