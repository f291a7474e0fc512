// The last step of a cascading deletion: every instance is gone, so the cluster is
// released. The provider forgets what it kept about the cluster (the local provider's
// state directory with its launch-token ledger: a cluster created again under the same
// name must not find the old launches), then every key under the cluster's directory in
// the management etcd goes in one transaction fenced by leadership: spec, last-good,
// status, journal, marks, controls, secrets, endpoints, tokens, the deletion request.
//
// A spec source other than the management etcd (a Kubernetes custom resource with a
// finalizer) releases its object after this, through ActDeps.release.
import type { Provider } from '../providers/provider.ts';
import { clusterKeys } from '../store/keys.ts';
import type { FencedKv } from '../store/fenced-kv.ts';
import type { LeaderFence } from '../store/port.ts';

export interface ReleaseDeps {
  readonly cluster: string;
  readonly provider: Provider;
  readonly mgmt: FencedKv;
  readonly prefix: string;
  readonly fence?: LeaderFence;
}

export async function releaseCluster(deps: ReleaseDeps): Promise<string> {
  await deps.provider.forgetCluster?.(deps.cluster);
  await removeClusterKeys(deps.mgmt, deps.prefix, deps.cluster, deps.fence);
  return `released ${deps.cluster}: its keys are removed`;
}

/** Removes every key of the cluster in one (fenced, when a fence is given) transaction. */
export async function removeClusterKeys(mgmt: FencedKv, prefix: string, cluster: string, fence: LeaderFence | undefined): Promise<void> {
  await mgmt.write([{ kind: 'deletePrefix', key: clusterKeys(prefix, cluster).base }], fence, `removing the keys of cluster ${cluster}`);
}
