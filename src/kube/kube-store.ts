// SwarmCluster objects in Kubernetes as the controller's spec source: the same
// ClusterStore port the management etcd implements, so the controller does not know
// which source it has. The journal, marks and tokens stay in the management etcd either
// way; only the spec (read here) and the status (written here, through the status
// subresource) live in Kubernetes.
//
// - The API server has already applied the CRD's schema and CEL rules; swarmkeeper's
//   validator runs again (it knows cross-field rules in words) and, when it refuses a
//   change, the last valid spec of the object stays in force, like last-good in etcd,
//   with SpecValid=False saying why. That last valid spec is kept in memory: a
//   controller that restarts while an object is refused acts on nothing for it until
//   the object is fixed.
// - metadata.generation is the Kubernetes generation, so status.observedGeneration
//   means what `kubectl` users expect.
// - An object being deleted while it carries the teardown finalizer is reported with its
//   deletionTimestamp: the planner takes the cluster down (cascading deletion) and the
//   release step removes the finalizer (kube-intake.ts). Without the finalizer, or with
//   the orphan annotation, there is nothing to reconcile: get() reports it absent.
// - Writing specs is kubectl's job: apply() and delete() refuse, naming it.
import type { KubeConfig } from '@kubernetes/client-node';
import { SwarmkeeperError } from '../errors.ts';
import { describeInvalid, validateCluster } from '../spec/validate.ts';
import { API_VERSION, KIND, type SwarmCluster, type SwarmClusterStatus } from '../spec/schema.ts';
import type { ApplyResult, ClusterStore, ClusterWatchEvent, LeaderFence, StoredCluster, Watcher } from '../store/port.ts';
import type { WatchLogger } from '../store/store-watch.ts';
import type { InvolvedObject, KubeObject, SwarmClusterApi } from './swarmcluster-api.ts';
import { watchSwarmClusters } from './swarmcluster-watch.ts';

/** On a SwarmCluster: deleting it takes its nodes down first. */
export const FINALIZER = 'swarmkeeper.dev/teardown';
/** `swarmkeeper.dev/orphan-nodes: "true"` on the object: deleting it leaves the nodes running. */
export const ORPHAN_ANNOTATION = 'swarmkeeper.dev/orphan-nodes';
/** kubectl's client-side apply copy of the object: not part of the spec, and often longer than swarmkeeper's annotation limit. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export interface KubeStoreOptions {
  readonly logger?: WatchLogger;
  /** True while `fence` still proves leadership (checked in the management etcd before a status write). */
  readonly fenceHolds?: (fence: LeaderFence) => Promise<boolean>;
}

export class KubeClusterStore implements ClusterStore {
  /** The last spec of each object that swarmkeeper's validator accepted. */
  private readonly lastGood = new Map<string, SwarmCluster>();
  /** The uid of each object last read, for the Events about it. */
  private readonly uids = new Map<string, string>();

  constructor(
    private readonly kc: KubeConfig,
    readonly api: SwarmClusterApi,
    private readonly opts: KubeStoreOptions = {},
  ) {}

  async get(name: string): Promise<StoredCluster | undefined> {
    const obj = await this.api.get(name);
    if (!obj) {
      this.forget(name);
      return undefined;
    }
    return this.interpret(obj);
  }

  async list(): Promise<StoredCluster[]> {
    const { items } = await this.api.list();
    return items.map((o) => this.interpret(o)).filter((c): c is StoredCluster => c !== undefined);
  }

  apply(): Promise<{ result: ApplyResult; cluster: SwarmCluster }> {
    return Promise.reject(new SwarmkeeperError('Usage', 'the spec source is Kubernetes: change SwarmCluster objects with kubectl apply'));
  }

  delete(): Promise<boolean> {
    return Promise.reject(new SwarmkeeperError('Usage', 'the spec source is Kubernetes: delete SwarmCluster objects with kubectl delete'));
  }

  async writeStatus(name: string, status: SwarmClusterStatus, fence?: LeaderFence): Promise<void> {
    // Kubernetes cannot check the management etcd's fence in the same transaction: this
    // check narrows the window in which a deposed leader's status lands to one request.
    if (fence && this.opts.fenceHolds && !(await this.opts.fenceHolds(fence))) {
      throw new SwarmkeeperError('Conflict', `writing the status of SwarmCluster ${name}: this controller is no longer the leader`);
    }
    await this.api.patchStatus(name, status);
  }

  watch(onEvent: (e: ClusterWatchEvent) => void): Promise<Watcher> {
    return watchSwarmClusters(this.kc, this.api, onEvent, this.opts.logger);
  }

  async close(): Promise<void> {
    this.lastGood.clear();
    this.uids.clear();
  }

  /** Who Events about `name` are about. */
  involved(name: string): InvolvedObject {
    const uid = this.uids.get(name);
    return uid ? { name, uid } : { name };
  }

  /** The object as a StoredCluster: its spec when valid, else the last valid one with the error. */
  interpret(obj: KubeObject): StoredCluster | undefined {
    const name = obj.metadata.name;
    if (obj.metadata.uid) this.uids.set(name, obj.metadata.uid);
    if (obj.metadata.deletionTimestamp && !cascades(obj)) return undefined;
    const doc = asDocument(obj);
    const r = validateCluster(doc);
    const status = obj.status;
    const specRevision = obj.metadata.resourceVersion ?? '0';
    if (r.ok) {
      this.lastGood.set(name, r.cluster);
      return { cluster: r.cluster, specRevision, ...(status ? { status } : {}) };
    }
    const previous = this.lastGood.get(name);
    if (!previous) return undefined;
    const deletion = obj.metadata.deletionTimestamp;
    const cluster = deletion ? { ...previous, metadata: { ...previous.metadata, deletionTimestamp: deletion } } : previous;
    return { cluster, specRevision, specError: describeInvalid(doc, r.errors), ...(status ? { status } : {}) };
  }

  /** Why the object is not acted on, when swarmkeeper's validator refuses it and nothing valid was seen. */
  refusal(obj: KubeObject): string | undefined {
    if (this.lastGood.has(obj.metadata.name)) return undefined;
    const doc = asDocument(obj);
    const r = validateCluster(doc);
    return r.ok ? undefined : describeInvalid(doc, r.errors);
  }

  private forget(name: string): void {
    this.lastGood.delete(name);
    this.uids.delete(name);
  }
}

/** Being deleted, the object's nodes are taken down: it carries the finalizer and no orphan annotation. */
export function cascades(obj: KubeObject): boolean {
  return (obj.metadata.finalizers ?? []).includes(FINALIZER) && !orphans(obj);
}

export function orphans(obj: KubeObject): boolean {
  return obj.metadata.annotations?.[ORPHAN_ANNOTATION] === 'true';
}

/** The document swarmkeeper validates: the fields it knows, as the API server returned them. */
export function asDocument(obj: KubeObject): Record<string, unknown> {
  const m = obj.metadata;
  const { [LAST_APPLIED]: _lastApplied, ...annotations } = m.annotations ?? {};
  return {
    apiVersion: obj.apiVersion ?? API_VERSION,
    kind: obj.kind ?? KIND,
    metadata: {
      name: m.name,
      ...(m.uid ? { uid: m.uid } : {}),
      ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
      ...(m.generation !== undefined ? { generation: m.generation } : {}),
      ...(m.creationTimestamp ? { creationTimestamp: m.creationTimestamp } : {}),
      ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
      ...(m.labels ? { labels: m.labels } : {}),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      ...(m.finalizers ? { finalizers: m.finalizers } : {}),
    },
    spec: obj.spec,
  };
}
