// What the Kubernetes spec source does around each cycle of a cluster, as spec intake
// does for the etcd source:
// - before the cycle (kubeIntake): every live object gets the teardown finalizer before
//   anything is launched for it, so `kubectl delete` means "take the cluster down"
//   rather than "forget it while its nodes keep running". An object deleted with the
//   orphan annotation has its keys in the management etcd removed and its finalizer
//   released at once, its nodes left running (`swarmkeeper delete --cascade=orphan`).
//   An object swarmkeeper's validator refuses, with no valid spec seen before, gets
//   SpecValid=False.
// - at the end of a cascading deletion (kubeRelease): once the planner has drained and
//   terminated every node, `cluster.release` removes the management etcd keys, then the
//   finalizer, and the API server lets the object go. A release that fails half-way is
//   run again by the next cycle (both halves are idempotent).
import { getCondition, REASONS, setCondition } from '../spec/conditions.ts';
import type { Logger } from '../log.ts';
import type { ActDeps } from '../act/context.ts';
import { releaseCluster, removeClusterKeys } from '../act/release.ts';
import type { FencedKv } from '../store/fenced-kv.ts';
import type { LeaderFence } from '../store/port.ts';
import { recordEventOrWarn } from './kube-events.ts';
import { FINALIZER, orphans, type KubeClusterStore } from './kube-store.ts';
import type { KubeEvent, KubeObject, SwarmClusterApi } from './swarmcluster-api.ts';

export interface KubeIntakeDeps {
  readonly api: SwarmClusterApi;
  readonly store: KubeClusterStore;
  /** The management etcd: journal, marks, tokens of each cluster. */
  readonly mgmt: FencedKv;
  readonly prefix: string;
  readonly logger: Logger;
  readonly now?: () => number;
}

export function kubeIntake(deps: KubeIntakeDeps): (name: string, fence: LeaderFence) => Promise<void> {
  const event = eventRecorder(deps);
  return async (name, fence) => {
    const obj = await deps.api.get(name);
    if (!obj) return;
    const finalizers = obj.metadata.finalizers ?? [];
    const ours = finalizers.includes(FINALIZER);
    if (!obj.metadata.deletionTimestamp) {
      // Conflict (the object moved) fails the cycle: nothing is launched before the finalizer is on.
      if (!ours) await deps.api.setFinalizers(name, [...finalizers, FINALIZER], obj.metadata.resourceVersion ?? '');
      await reportRefusal(deps, obj, fence);
      return;
    }
    if (!ours || !orphans(obj)) return;
    await removeClusterKeys(deps.mgmt, deps.prefix, name, fence);
    await deps.api.setFinalizers(name, without(finalizers, FINALIZER), obj.metadata.resourceVersion ?? '');
    await event(obj.metadata.name, {
      type: 'Normal',
      reason: 'Orphaned',
      action: 'Release',
      message: 'Deleted with the orphan annotation: its nodes keep running, its keys in the management etcd are removed',
    });
    deps.logger.info({ cluster: name }, 'Released the SwarmCluster object; its nodes keep running (orphan annotation)');
  };
}

/** cluster.release for the Kubernetes source: the keys, then the finalizer. */
export function kubeRelease(deps: KubeIntakeDeps): NonNullable<ActDeps['release']> {
  const event = eventRecorder(deps);
  return async (r) => {
    const line = await releaseCluster(r);
    const obj = await deps.api.get(r.cluster);
    const finalizers = obj?.metadata.finalizers ?? [];
    if (obj && finalizers.includes(FINALIZER)) {
      await event(r.cluster, {
        type: 'Normal',
        reason: 'Deleted',
        action: 'Release',
        message: 'Every node is drained and terminated: releasing the object',
      });
      await deps.api.setFinalizers(r.cluster, without(finalizers, FINALIZER), obj.metadata.resourceVersion ?? '');
    }
    deps.logger.info({ cluster: r.cluster }, 'Released the SwarmCluster object');
    return `${line}; finalizer ${FINALIZER} removed`;
  };
}

/** SpecValid=False on an object swarmkeeper refuses and has no valid spec for (else the cycle's status says it). */
async function reportRefusal(deps: KubeIntakeDeps, obj: KubeObject, fence: LeaderFence): Promise<void> {
  const error = deps.store.refusal(obj);
  if (error === undefined) return;
  const message = `${error} (no valid spec was ever seen: nothing is acted on)`;
  const previous = getCondition(obj.status?.conditions, 'SpecValid');
  if (previous?.status === 'False' && previous.message === message) return;
  const conditions = setCondition(
    obj.status?.conditions,
    { type: 'SpecValid', status: 'False', reason: REASONS.SpecRejected, message },
    (deps.now ?? Date.now)(),
  );
  await deps.store.writeStatus(obj.metadata.name, { ...obj.status, conditions }, fence);
}

function eventRecorder(deps: KubeIntakeDeps): (name: string, e: KubeEvent) => Promise<void> {
  return (name, e) => recordEventOrWarn(deps.api, deps.store.involved(name), e, new Date((deps.now ?? Date.now)()), deps.logger);
}

function without(list: readonly string[], item: string): string[] {
  return list.filter((f) => f !== item);
}
