// What the executor needs, injected so the controller, the demo and tests wire it the
// same way (real adapters in production, SimWorld's in unit tests).
import type { MarkStore } from '../store/mark-port.ts';
import type { Logger } from '../log.ts';
import type { NodeAgentConfig } from '../protocol/agent-config.ts';
import type { Snapshot } from '../model/snapshot.ts';
import type { PeerClients } from '../observe/peer-clients.ts';
import type { Step } from '../plan/steps.ts';
import type { PreconditionResult } from '../plan/preconditions.ts';
import type { Provider } from '../providers/provider.ts';
import type { ResolvedSpec } from '../spec/defaults.ts';
import type { Role } from '../spec/schema.ts';
import type { Journal } from '../store/journal.ts';
import type { LeaderFence } from '../store/port.ts';
import type { FencedKv } from '../store/fenced-kv.ts';
import type { ReleaseDeps } from './release.ts';

/** The planner's checkPrecondition (src/plan/preconditions.ts), injected. */
export type PreconditionCheck = (step: Step, snapshot: Snapshot, now: number, spec?: ResolvedSpec) => PreconditionResult;

/** Builds what a launched node's agent is told; ec2 adds a one-time bootstrap token here. */
/** `count`: how many instances the launch makes with this config (a bootstrap token covers that many). */
export type AgentConfigFactory = (spec: ResolvedSpec, role: Role, clientToken: string, count?: number) => Promise<NodeAgentConfig>;

/** A backup.create step. */
export type BackupStep = Extract<Step, { kind: 'backup.create' }>;

/**
 * Takes the backup a backup.create step asks for (src/backup/take-backup.ts): returns
 * the journal's result line. Throws when the backup could not be taken and stored.
 */
export type BackupTaker = (step: BackupStep, snapshot: Snapshot, deps: ActDeps) => Promise<string>;

export interface ActTimeouts {
  /** etcd membership calls retried through "unhealthy cluster" windows. */
  readonly etcdMs: number;
  /** Promotion waits for the learner to catch up. */
  readonly promoteMs: number;
  /** Swarm demotion is asynchronous: how long to wait to see the worker role. */
  readonly demoteMs: number;
  /** Waiting to see a promoted node as a reachable manager. */
  readonly swarmPromoteMs: number;
  /** How long a learner add waits to see the learner start, when its node's agent is known to run. */
  readonly learnerStartMs: number;
}

export const DEFAULT_TIMEOUTS: ActTimeouts = {
  etcdMs: 30_000,
  promoteMs: 60_000,
  demoteMs: 60_000,
  swarmPromoteMs: 30_000,
  learnerStartMs: 2_000,
};

/**
 * What the executor needs that is the same for every cycle of one controller. The
 * loop's context (src/controller/reconcile.ts, LoopContext) extends it, so a cycle
 * hands it on whole instead of copying it field by field.
 */
export interface ActShared {
  readonly peers: PeerClients;
  /** Only the writes the executor makes (a fake in unit tests). */
  readonly journal: Pick<Journal, 'record' | 'transition'>;
  /** The management etcd (keys.endpoints is written there) and its key prefix. */
  readonly mgmt: FencedKv;
  readonly prefix: string;
  readonly marks?: MarkStore;
  readonly checkPrecondition: PreconditionCheck;
  readonly agentConfig: AgentConfigFactory;
  readonly now: () => number;
  readonly timeouts?: Partial<ActTimeouts>;
  /** Absent where backups are not wired: a backup.create step then fails. */
  readonly takeBackup?: BackupTaker;
  /**
   * Runs `cluster.release` (the end of a cascading deletion). Default: releaseCluster()
   * (release.ts). A spec source with its own object (a Kubernetes finalizer) wraps it.
   */
  readonly release?: (deps: ReleaseDeps) => Promise<string>;
}

/** One cycle's executor: the shared part and what belongs to this cluster and cycle. */
export interface ActDeps extends ActShared {
  readonly cluster: string;
  readonly spec: ResolvedSpec;
  readonly provider: Provider;
  readonly fence?: LeaderFence;
  /** Aborted when leadership is lost: stop acting at once. */
  readonly signal?: AbortSignal;
  /** Who we are, written into journal entries. */
  readonly leader?: string;
  /**
   * A view fresh enough to re-check `step`'s precondition on: the cycle's observation
   * with the sources the step depends on read again (src/controller/cycle-view.ts).
   */
  readonly observe: (step: Step) => Promise<Snapshot>;
  /** The cycle's logger (cluster and cycle bound). */
  readonly logger: Logger;
}
