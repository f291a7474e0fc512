// The calls the Kubernetes spec source makes, through @kubernetes/client-node, and
// nothing else: SwarmCluster get and list, its status subresource, its finalizers, and
// core/v1 Events about it. A narrow port: the store, the intake and the watch know this
// interface, never the client library. RBAC (manifests/kubernetes/rbac.yaml) grants
// exactly these calls.
import type { KubeConfig } from '@kubernetes/client-node';
import { API_VERSION, KIND, type SwarmClusterStatus } from '../spec/schema.ts';
import { clientNode } from './client-node.ts';
import { classifyKubeError, statusOf } from './kube-errors.ts';

const [GROUP, VERSION] = API_VERSION.split('/') as [string, string];
export const PLURAL = 'swarmclusters';
/** The path a watch of every SwarmCluster uses. */
export const SWARMCLUSTERS_PATH = `/apis/${GROUP}/${VERSION}/${PLURAL}`;
/**
 * Events about a cluster-scoped object live in "default": the API server refuses a
 * core/v1 Event whose involved object has no namespace in any other namespace.
 */
export const EVENT_NAMESPACE = 'default';

/** What to do when the first call of all fails the way a new installation does. */
const LIST_HINTS: Record<number, string> = {
  404: ' (is the CRD installed? kubectl apply -f crds/swarmcluster.yaml)',
  403: ' (the credentials may not list swarmclusters.swarmkeeper.dev: grant what manifests/kubernetes/rbac.yaml grants)',
  401: ' (the API server refused the credentials of the kubeconfig)',
};

/** A SwarmCluster as the API server returns it (spec not yet validated by swarmkeeper). */
export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: {
    readonly name: string;
    readonly uid?: string;
    readonly resourceVersion?: string;
    readonly generation?: number;
    readonly creationTimestamp?: string;
    readonly deletionTimestamp?: string;
    readonly finalizers?: string[];
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
  };
  readonly spec?: unknown;
  readonly status?: SwarmClusterStatus;
}

/** What an Event names the object by: `kubectl describe` finds events by name and uid. */
export interface InvolvedObject {
  readonly name: string;
  readonly uid?: string;
}

export interface KubeEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
  readonly action: string;
}

export interface SwarmClusterApi {
  /** The object, or undefined when there is none. */
  get(name: string): Promise<KubeObject | undefined>;
  list(): Promise<{ items: KubeObject[]; resourceVersion: string }>;
  /** Replaces the whole status through the status subresource. */
  patchStatus(name: string, status: SwarmClusterStatus): Promise<void>;
  /** Replaces the finalizer list, only if the object is still at `resourceVersion` (Conflict otherwise). */
  setFinalizers(name: string, finalizers: readonly string[], resourceVersion: string): Promise<void>;
  recordEvent(obj: InvolvedObject, e: KubeEvent, now: Date): Promise<void>;
}

export function swarmClusterApi(kc: KubeConfig, opts: { component?: string } = {}): SwarmClusterApi {
  const { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } = clientNode();
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const base = { group: GROUP, version: VERSION, plural: PLURAL };
  const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  const component = opts.component ?? 'swarmkeeper';
  return {
    async get(name) {
      try {
        return (await custom.getClusterCustomObject({ ...base, name })) as KubeObject;
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw classifyKubeError(`reading SwarmCluster ${name}`, err);
      }
    },
    async list() {
      try {
        const res = (await custom.listClusterCustomObject(base)) as { items: KubeObject[]; metadata: { resourceVersion: string } };
        return { items: res.items, resourceVersion: res.metadata.resourceVersion };
      } catch (err) {
        throw classifyKubeError(`listing SwarmClusters${LIST_HINTS[statusOf(err) ?? 0] ?? ''}`, err);
      }
    },
    async patchStatus(name, status) {
      try {
        // `add` replaces the whole status: a merge patch would keep keys the new status dropped.
        await custom.patchClusterCustomObjectStatus({ ...base, name, body: [{ op: 'add', path: '/status', value: status }] }, jsonPatch);
      } catch (err) {
        throw classifyKubeError(`writing the status of SwarmCluster ${name}`, err);
      }
    },
    async setFinalizers(name, finalizers, resourceVersion) {
      // resourceVersion in a merge patch makes it conditional: 409 when the object moved.
      const body = { metadata: { resourceVersion, finalizers: [...finalizers] } };
      try {
        await custom.patchClusterCustomObject({ ...base, name, body }, mergePatch);
      } catch (err) {
        throw classifyKubeError(`updating the finalizers of SwarmCluster ${name}`, err);
      }
    },
    async recordEvent(obj, e, now) {
      try {
        await core.createNamespacedEvent({
          namespace: EVENT_NAMESPACE,
          body: {
            metadata: { generateName: `${obj.name}.`, namespace: EVENT_NAMESPACE },
            involvedObject: { apiVersion: API_VERSION, kind: KIND, name: obj.name, ...(obj.uid ? { uid: obj.uid } : {}) },
            type: e.type,
            reason: e.reason,
            message: e.message.slice(0, 1024),
            action: e.action,
            source: { component },
            reportingComponent: component,
            reportingInstance: component,
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
          },
        });
      } catch (err) {
        throw classifyKubeError(`recording an event about SwarmCluster ${obj.name}`, err);
      }
    },
  };
}
