// Deletion of a SwarmCluster object goes through a finalizer, so `kubectl delete` means
// "take the cluster down" rather than "forget it while its instances keep running":
// every live object gets the finalizer; once it is being deleted, the controller
// terminates every instance of the cluster (unless the orphan annotation says to leave
// them running), then removes the finalizer and the API server lets the object go.
//
// This is the kube spec source's intake step: the controller calls it before each cycle
// of a cluster, as it calls spec intake for the etcd source.
import { SwarmkeeperError, isSwarmkeeperError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Provider } from '../providers/provider.ts';
import { resolveCluster, type ResolvedSpec } from '../spec/defaults.ts';
import { validateCluster } from '../spec/validate.ts';
import type { LeaderFence } from '../store/port.ts';
import { asDocument, type KubeClusterStore } from './kube-store.ts';
import type { KubeEvent, KubeObject, SwarmClusterApi } from './swarmcluster-api.ts';

export const FINALIZER = 'swarmkeeper.dev/teardown';
/** `swarmkeeper.dev/orphan-nodes: "true"` on the object: deleting it leaves the instances running. */
export const ORPHAN_ANNOTATION = 'swarmkeeper.dev/orphan-nodes';

/** Takes every node of a cluster down; resolves once none is left. */
export type TearDown = (cluster: string, spec: ResolvedSpec) => Promise<void>;

export interface FinalizerDeps {
  readonly api: SwarmClusterApi;
  readonly store: KubeClusterStore;
  readonly providerFor: (spec: ResolvedSpec) => Provider;
  readonly tearDown?: TearDown;
  readonly logger: Logger;
  readonly now?: () => number;
}

export function kubeIntake(deps: FinalizerDeps): (name: string, fence: LeaderFence) => Promise<void> {
  const tearDown = deps.tearDown ?? terminateEveryInstance(deps.providerFor, deps.logger);
  const event = (obj: KubeObject, e: KubeEvent): Promise<void> =>
    deps.api.recordEvent(obj, e, new Date((deps.now ?? Date.now)())).catch((err: unknown) => deps.logger.warn({ cluster: obj.metadata.name, err: String(err) }, 'Recording an event failed'));
  return async (name) => {
    const obj = await deps.api.get(name);
    if (!obj) return;
    const finalizers = obj.metadata.finalizers ?? [];
    const ours = finalizers.includes(FINALIZER);
    if (!obj.metadata.deletionTimestamp) {
      if (!ours) await setFinalizers(deps.api, obj, [...finalizers, FINALIZER]);
      return;
    }
    if (!ours) return;
    const orphan = obj.metadata.annotations?.[ORPHAN_ANNOTATION] === 'true';
    if (!orphan) {
      const spec = specOf(obj, deps.store);
      if (spec) {
        await event(obj, { type: 'Normal', reason: 'Deleting', action: 'TearDown', message: 'Terminating every node of the cluster' });
        await tearDown(name, spec);
      }
    }
    await event(obj, { type: 'Normal', reason: orphan ? 'Orphaned' : 'Deleted', action: 'Release', message: orphan ? 'Released; the nodes keep running (orphan annotation)' : 'Every node terminated; released' });
    await setFinalizers(deps.api, obj, finalizers.filter((f) => f !== FINALIZER));
    deps.logger.info({ cluster: name, orphan }, 'Released the SwarmCluster object');
  };
}

/** The spec the cluster runs under: the object's own when valid, else the last valid one seen. */
function specOf(obj: KubeObject, store: KubeClusterStore): ResolvedSpec | undefined {
  const r = validateCluster(asDocument(obj));
  if (r.ok) return resolveCluster(r.cluster);
  const stored = store.interpret(obj);
  return stored ? resolveCluster(stored.cluster) : undefined;
}

async function setFinalizers(api: SwarmClusterApi, obj: KubeObject, finalizers: string[]): Promise<void> {
  try {
    await api.setFinalizers(obj.metadata.name, finalizers, obj.metadata.resourceVersion ?? '');
  } catch (err) {
    // The object moved since it was read: the watch brings the next cycle.
    if (isSwarmkeeperError(err, 'Conflict') || isSwarmkeeperError(err, 'SpecInvalid')) return;
    throw err;
  }
}

/**
 * Terminates workers first, then managers, and waits until the provider lists none.
 * No drain: every node is going, so there is nowhere for tasks to move to.
 */
export function terminateEveryInstance(providerFor: (spec: ResolvedSpec) => Provider, logger: Logger, timeoutMs = 300_000): TearDown {
  return async (cluster, spec) => {
    const provider = providerFor(spec);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const instances = await provider.list(cluster);
      if (instances.length === 0) return;
      if (Date.now() > deadline) throw new SwarmkeeperError('Unavailable', `tearing down ${cluster}: ${instances.length} instances still listed after ${timeoutMs / 1000} s`);
      const ordered = [...instances].sort((a, b) => (a.role === b.role ? 0 : a.role === 'worker' ? -1 : 1));
      for (const i of ordered) {
        logger.info({ cluster, instance: i.id, role: i.role }, 'Terminating instance of a deleted cluster');
        await provider.terminate(cluster, i.id);
      }
    }
  };
}
