// The Snapshot: one immutable observation of the world, the planner's only input besides
// the spec and the time. Each source says whether it was read completely; a failed read
// is data (`status: 'unavailable'`), never an exception, so the planner can refuse
// destructive steps instead of the loop unwinding (design rule 1).
//
// Times are milliseconds since the epoch, taken by the observer, never by the planner.
import type { Role } from '../spec/schema.ts';

/** The shape of an instance id everywhere it is taken from outside (alerts, marks, requests). */
export const INSTANCE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export type Source<T> =
  | { readonly status: 'ok'; readonly value: T }
  | { readonly status: 'unavailable'; readonly error: string; /** what was read before it failed, if anything */ readonly partial?: T };

export type InstanceState = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';

export interface Instance {
  readonly id: string;
  readonly role: Role;
  readonly state: InstanceState;
  readonly launchedAt: number;
  /** Private address the node's etcd and swarm advertise (127.0.x.y for the local provider). */
  readonly address?: string;
  readonly zone?: string;
  readonly subnetId?: string;
  /** nodeConfigHash() of the spec the instance was launched from. */
  readonly configHash: string;
  /** The launch intent's client token; instances of one launch step share it. */
  readonly clientToken?: string;
  readonly tags: Readonly<Record<string, string>>;
  /** Provider-level health (EC2 status checks); undefined when the provider has none. */
  readonly statusChecksOk?: boolean;
}

export type SwarmNodeState = 'ready' | 'down' | 'unknown' | 'disconnected';
export type SwarmAvailability = 'active' | 'pause' | 'drain';
export type ManagerReachability = 'reachable' | 'unreachable' | 'unknown';

export interface SwarmNode {
  readonly id: string;
  /** The OBSERVED role: manager while the node is a member of the manager raft (has ManagerStatus). */
  readonly role: Role;
  /** The role asked for in the node's spec; differs from `role` while a promotion or demotion is in flight. Undefined when not read. */
  readonly desiredRole?: Role;
  readonly availability: SwarmAvailability;
  readonly state: SwarmNodeState;
  /** Only for managers. */
  readonly reachability?: ManagerReachability;
  readonly leader: boolean;
  /** From the engine label `swarmkeeper.instance`; undefined for nodes swarmkeeper did not launch. */
  readonly instanceId?: string;
  readonly address: string;
  /** The object version index that updates must quote (swarm's optimistic concurrency). */
  readonly version: number;
  /** Tasks still running on the node (for wait-for-drain); undefined when not read. */
  readonly runningTasks?: number;
  /** Tasks of the services it ran that are not running elsewhere yet; undefined when not read. */
  readonly tasksNotMoved?: number;
  /** The scheduler's word on one of those ("no suitable node (...)"). */
  readonly tasksNotMovedWhy?: string;
}

export interface SwarmView {
  readonly nodes: readonly SwarmNode[];
  /** Whether the swarm exists at all (false before the first manager initialised it). */
  readonly initialized: boolean;
}

export interface EtcdMember {
  /** Member id as a decimal or hex string (etcd ids are uint64: do not use number). */
  readonly id: string;
  /** Empty for a learner that has not started yet: match members by peer URL. */
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
  readonly isLearner: boolean;
  /** Whether the member answered a status request this cycle; undefined when not asked. */
  readonly healthy?: boolean;
  readonly leader: boolean;
  /** The member ids this member reports (for the "every member agrees" gate). */
  readonly reportedMembers?: readonly string[];
  readonly raftIndex?: number;
}

export interface EtcdView {
  readonly members: readonly EtcdMember[];
  readonly leaderId?: string;
  /** Active alarms (NOSPACE, CORRUPT) anywhere in the cluster. */
  readonly alarms: readonly string[];
}

export type HealthMarkSource = 'alert' | 'detector:swarm' | 'detector:etcd' | 'detector:startup' | 'detector:ec2' | 'operator';

export interface HealthMark {
  readonly instanceId: string;
  readonly source: HealthMarkSource;
  readonly reason: string;
  /** When the condition was first seen (the hold-down period counts from here). */
  readonly since: number;
  readonly expiresAt?: number;
}

export type OperationState = 'pending' | 'running' | 'done' | 'failed';

/** A journal entry: a step the controller wrote down before running it (rule 13). */
export interface Operation {
  readonly id: string;
  readonly stepKind: string;
  /** Instance id or member id the step acts on. */
  readonly target: string;
  readonly startedAt: number;
  readonly state: OperationState;
  readonly attempts: number;
  readonly error?: string;
  /** For a finished launch: the instances it produced, when the journal recorded them. */
  readonly instanceIds?: readonly string[];
}

/**
 * What an operator asked of one node (`swarmkeeper node cordon|drain|uncordon|replace`),
 * carried out by the planner under the usual rules. cordon, drain and uncordon set the
 * node's swarm availability (pause, drain, active) and stay as the node's desired
 * availability; replace has the node replaced like an outdated one.
 */
export type NodeRequestAction = 'cordon' | 'drain' | 'uncordon' | 'replace';

export interface NodeRequest {
  readonly action: NodeRequestAction;
  /** When the operator asked (ms epoch): a removal the controller started later wins. */
  readonly requestedAt: number;
}

/** Per-node operator controls (rule 10): skip remediation, ask for deletion, or a node request. */
export interface NodeControl {
  readonly instanceId: string;
  readonly skipRemediation?: boolean;
  readonly markedForDeletion?: boolean;
  /** How often this node has been remediated (for maxRetriesPerNode). */
  readonly remediations?: number;
  readonly request?: NodeRequest;
}

export type BackupPurpose = 'scheduled' | 'pre-change' | 'manual';

/**
 * What the controller's backup record (management etcd) says. `membership` is the
 * membershipFingerprint() the cluster had when the backup was taken: the planner
 * compares it with the current one to know whether a snapshot covers the next change.
 */
export interface BackupObservation {
  /** The newest backup that completed. */
  readonly newest?: {
    readonly name: string;
    readonly takenAt: number;
    readonly membership: string;
    /** For status and metrics; the planner does not need them. */
    readonly purpose?: BackupPurpose;
    readonly sizeBytes?: number;
    readonly durationMs?: number;
    readonly etcdRevision?: number;
  };
  /** The newest failed attempt, only when it is newer than `newest`. */
  readonly lastFailure?: { readonly at: number; readonly purpose: BackupPurpose; readonly membership: string; readonly error: string };
}

export interface Snapshot {
  readonly observedAt: number;
  readonly instances: Source<readonly Instance[]>;
  readonly swarm: Source<SwarmView>;
  readonly etcd: Source<EtcdView>;
  readonly marks: readonly HealthMark[];
  readonly operations: readonly Operation[];
  readonly controls: readonly NodeControl[];
  /** Instance id of the node the controller itself runs on, if it runs on the cluster. */
  readonly selfInstanceId?: string;
  /**
   * The etcd client URLs currently published under keys.endpoints (what workers' gateways
   * follow). Undefined means nothing is published: the planner then publishes.
   */
  readonly publishedClientURLs?: readonly string[];
  /** The backup record; undefined when there is none (or it could not be read). */
  readonly backup?: BackupObservation;
  /** A `swarmkeeper recover` order in progress (keys.recovery): which backup, which phase. */
  readonly recovery?: { readonly backup: string; readonly phase: 'fencing' | 'founding' };
}

/** The URL etcd peers use for a node at `address`; members are matched to instances by it. */
export function etcdPeerUrl(address: string): string {
  return `http://${address}:2380`;
}

export function etcdClientUrl(address: string): string {
  return `http://${address}:2379`;
}

/** Host part of a URL, without scheme and port, for matching members to instance addresses. */
export function urlHost(url: string): string {
  const m = /^[a-z]+:\/\/\[?([^\]/]+?)\]?(?::\d+)?(?:\/.*)?$/i.exec(url);
  return m?.[1] ?? url;
}
