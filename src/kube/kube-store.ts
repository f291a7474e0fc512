// SwarmCluster objects in Kubernetes as the controller's spec source: the same
// ClusterStore port the management etcd implements, so the controller does not know
// which source it has. The planner, journal, marks and tokens stay in the management
// etcd either way; only the spec (read here) and the status (written here, through the
// status subresource) live in Kubernetes.
//
// - The API server has already applied the CRD's schema and CEL rules; swarmkeeper's
//   validator runs again (it knows cross-field rules in words) and, when it refuses a
//   change, the last valid spec of the object stays in force, like last-good in etcd,
//   with SpecValid=False saying why.
// - metadata.generation is the Kubernetes generation, so status.observedGeneration
//   means what `kubectl` users expect.
// - Objects being deleted are not reconciled: the finalizer (kube-finalizer.ts) tears
//   them down, and get() reports them absent.
// - Writing is `kubectl`'s job: apply() and delete() refuse, naming it.
import type { KubeConfig } from '@kubernetes/client-node';
import { SwarmkeeperError } from '../errors.ts';
import { describeInvalid, validateCluster } from '../spec/validate.ts';
import { API_VERSION, KIND, type SwarmCluster, type SwarmClusterStatus } from '../spec/schema.ts';
import type { ApplyResult, ClusterStore, ClusterWatchEvent, LeaderFence, StoredCluster, Watcher } from '../store/port.ts';
import type { WatchLogger } from '../store/store-watch.ts';
import type { KubeObject, SwarmClusterApi } from './swarmcluster-api.ts';
import { watchSwarmClusters } from './swarmcluster-watch.ts';

export interface KubeStoreOptions {
  readonly logger?: WatchLogger;
  /** True while `fence` still proves leadership (checked in the management etcd before a status write). */
  readonly fenceHolds?: (fence: LeaderFence) => Promise<boolean>;
}

export class KubeClusterStore implements ClusterStore {
  /** The last spec of each object that swarmkeeper's validator accepted. */
  private readonly lastGood = new Map<string, SwarmCluster>();

  constructor(
    private readonly kc: KubeConfig,
    readonly api: SwarmClusterApi,
    private readonly opts: KubeStoreOptions = {},
  ) {}

  async get(name: string): Promise<StoredCluster | undefined> {
    const obj = await this.api.get(name);
    if (!obj || obj.metadata.deletionTimestamp) {
      this.lastGood.delete(name);
      return undefined;
    }
    return this.interpret(obj);
  }

  async list(): Promise<StoredCluster[]> {
    const { items } = await this.api.list();
    const out: StoredCluster[] = [];
    for (const obj of items) {
      if (obj.metadata.deletionTimestamp) continue;
      const stored = this.interpret(obj);
      if (stored) out.push(stored);
    }
    return out;
  }

  apply(): Promise<{ result: ApplyResult; cluster: SwarmCluster }> {
    return Promise.reject(new SwarmkeeperError('Usage', 'the spec source is Kubernetes: change SwarmCluster objects with kubectl apply'));
  }

  delete(): Promise<boolean> {
    return Promise.reject(new SwarmkeeperError('Usage', 'the spec source is Kubernetes: delete SwarmCluster objects with kubectl delete'));
  }

  async writeStatus(name: string, status: SwarmClusterStatus, fence?: LeaderFence): Promise<void> {
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
  }

  /** The object as a StoredCluster: its spec when valid, else the last valid one with the error. */
  interpret(obj: KubeObject): StoredCluster | undefined {
    const name = obj.metadata.name;
    const doc = asDocument(obj);
    const r = validateCluster(doc);
    const status = obj.status;
    const specRevision = obj.metadata.resourceVersion ?? '0';
    if (r.ok) {
      this.lastGood.set(name, r.cluster);
      return { cluster: r.cluster, specRevision, ...(status ? { status } : {}) };
    }
    const previous = this.lastGood.get(name);
    // Nothing valid was ever seen: nothing to act on (the finalizer step reports why).
    if (!previous) return undefined;
    return { cluster: previous, specRevision, specError: describeInvalid(doc, r.errors), ...(status ? { status } : {}) };
  }
}

/** The document swarmkeeper validates: the fields it knows, as the API server returned them. */
export function asDocument(obj: KubeObject): Record<string, unknown> {
  const m = obj.metadata;
  return {
    apiVersion: obj.apiVersion ?? API_VERSION,
    kind: obj.kind ?? KIND,
    metadata: {
      name: m.name,
      ...(m.uid ? { uid: m.uid } : {}),
      ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
      ...(m.generation !== undefined ? { generation: m.generation } : {}),
      ...(m.creationTimestamp ? { creationTimestamp: m.creationTimestamp } : {}),
      ...(m.labels ? { labels: m.labels } : {}),
      ...(m.annotations ? { annotations: m.annotations } : {}),
      ...(m.finalizers ? { finalizers: m.finalizers } : {}),
    },
    spec: obj.spec,
  };
}
