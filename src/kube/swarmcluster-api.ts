// The calls the Kubernetes spec source makes on SwarmCluster objects, through
// @kubernetes/client-node's CustomObjectsApi, and nothing else: get, list, the status
// subresource, the finalizer, and Events (core/v1). A narrow port, so the store and the
// watch are tested against a real API server without knowing the client library.
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { API_VERSION, KIND, type SwarmClusterStatus } from '../spec/schema.ts';
import { classifyKubeError, statusOf } from './kube-errors.ts';

const [GROUP, VERSION] = API_VERSION.split('/') as [string, string];
export const PLURAL = 'swarmclusters';
/** The path a watch of every SwarmCluster uses. */
export const SWARMCLUSTERS_PATH = `/apis/${GROUP}/${VERSION}/${PLURAL}`;

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

export interface KubeEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
  readonly action: string;
}

export interface SwarmClusterApi {
  get(name: string): Promise<KubeObject | undefined>;
  list(): Promise<{ items: KubeObject[]; resourceVersion: string }>;
  /** Replaces the status through the status subresource. */
  patchStatus(name: string, status: SwarmClusterStatus): Promise<void>;
  /** Replaces the finalizer list, only if the object is still at `resourceVersion` (Conflict otherwise). */
  setFinalizers(name: string, finalizers: readonly string[], resourceVersion: string): Promise<void>;
  /** Records a core/v1 Event about the object (in `eventNamespace`: the object is cluster-scoped). */
  recordEvent(obj: KubeObject, e: KubeEvent, now: Date): Promise<void>;
}

export function swarmClusterApi(kc: KubeConfig, opts: { eventNamespace?: string; component?: string } = {}): SwarmClusterApi {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const base = { group: GROUP, version: VERSION, plural: PLURAL };
  const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
  const eventNamespace = opts.eventNamespace ?? 'default';
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
        throw classifyKubeError('listing SwarmClusters', err);
      }
    },
    async patchStatus(name, status) {
      try {
        // The whole status, replaced (a merge patch would keep keys the new status dropped).
        await custom.patchClusterCustomObjectStatus({ ...base, name, body: [{ op: 'add', path: '/status', value: status }] }, jsonPatch);
      } catch (err) {
        throw classifyKubeError(`writing the status of SwarmCluster ${name}`, err);
      }
    },
    async setFinalizers(name, finalizers, resourceVersion) {
      const body = [
        { op: 'test', path: '/metadata/resourceVersion', value: resourceVersion },
        { op: 'replace', path: '/metadata/finalizers', value: [...finalizers] },
      ];
      try {
        await custom.patchClusterCustomObject({ ...base, name, body }, jsonPatch);
      } catch (err) {
        throw classifyKubeError(`updating the finalizers of SwarmCluster ${name}`, err);
      }
    },
    async recordEvent(obj, e, now) {
      const time = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
      try {
        await core.createNamespacedEvent({
          namespace: eventNamespace,
          body: {
            metadata: { generateName: `${obj.metadata.name}.`, namespace: eventNamespace },
            involvedObject: { apiVersion: API_VERSION, kind: KIND, name: obj.metadata.name, ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}), ...(obj.metadata.resourceVersion ? { resourceVersion: obj.metadata.resourceVersion } : {}) },
            type: e.type,
            reason: e.reason,
            message: e.message.slice(0, 1024),
            action: e.action,
            source: { component },
            reportingComponent: component,
            reportingInstance: component,
            firstTimestamp: new Date(time),
            lastTimestamp: new Date(time),
            count: 1,
          },
        });
      } catch (err) {
        throw classifyKubeError(`recording an event about SwarmCluster ${obj.metadata.name}`, err);
      }
    },
  };
}
