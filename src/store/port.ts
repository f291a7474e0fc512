// What the controller and the CLI need from the management etcd, as an interface, so
// the controller can be driven in tests by the real etcd store (etcd-store.ts) without
// knowing its key layout.
//
// Key layout under the prefix (default /swarmkeeper), one cluster `<name>`:
//   clusters/<name>/spec        the user's document as written (may be invalid if put by etcdctl)
//   clusters/<name>/last-good   the last spec that validated: what the controller acts on
//   clusters/<name>/status      written by the controller
//   clusters/<name>/...         journal, marks, controls, secrets: see the modules owning them
import type { SwarmCluster, SwarmClusterStatus } from '../spec/schema.ts';

export interface StoredCluster {
  /** The document in force: the last valid spec, with metadata.generation set. */
  readonly cluster: SwarmCluster;
  /** etcd mod revision of the spec key, for optimistic concurrency. */
  readonly specRevision: string;
  /** Set when the spec key currently holds an invalid document (it is not in force). */
  readonly specError?: string;
  readonly status?: SwarmClusterStatus;
}

export type ApplyResult = 'created' | 'configured' | 'unchanged';

export interface ClusterWatchEvent {
  readonly name: string;
  readonly type: 'put' | 'delete' | 'resync';
}

export interface Watcher {
  close(): Promise<void>;
}

/** A guard that makes a write succeed only while the writer holds leadership (fencing). */
export interface LeaderFence {
  /** The election key whose existence at this create revision proves leadership. */
  readonly key: string;
  readonly createRevision: string;
}

export interface ClusterStore {
  get(name: string): Promise<StoredCluster | undefined>;
  list(): Promise<StoredCluster[]>;
  /**
   * Validates, then writes. `expectedRevision` makes it conditional (Conflict when the
   * key moved). Nothing is written when the document is invalid (SpecInvalid).
   */
  apply(doc: unknown, opts?: { expectedRevision?: string }): Promise<{ result: ApplyResult; cluster: SwarmCluster }>;
  delete(name: string): Promise<boolean>;
  writeStatus(name: string, status: SwarmClusterStatus, fence?: LeaderFence): Promise<void>;
  /** Calls back on every change to any cluster's spec; survives etcd restarts and compaction. */
  watch(onEvent: (e: ClusterWatchEvent) => void): Promise<Watcher>;
  close(): Promise<void>;
}

/**
 * Where the controller's specs come from: the management etcd (EtcdClusterStore with
 * spec intake) or Kubernetes SwarmCluster objects (src/kube/). `ingest` runs before each
 * cycle of a cluster (promotion of a new spec, a finalizer's teardown).
 */
export interface SpecSource {
  readonly store: ClusterStore;
  ingest(name: string, fence: LeaderFence): Promise<unknown>;
}
