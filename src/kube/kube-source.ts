// The Kubernetes spec source, assembled: SwarmCluster objects read and watched through
// @kubernetes/client-node, status through the status subresource, deletion through the
// teardown finalizer, Events about steps and holds. Leadership stays the management
// etcd's election: every journal, mark and token write is fenced by its key in the same
// etcd transaction, which a coordination.k8s.io Lease could not do (docs/kubernetes.md).
// `swarmkeeper run --spec-source kubernetes` and the tests build it here.
import type { KubeConfig } from '@kubernetes/client-node';
import type { SpecSource } from '../controller/wire.ts';
import type { Logger } from '../log.ts';
import type { FencedKv } from '../store/fenced-kv.ts';
import type { LeaderFence } from '../store/port.ts';
import { kubeIntake, kubeRelease } from './kube-intake.ts';
import { KubeClusterStore } from './kube-store.ts';
import { swarmClusterApi, type SwarmClusterApi } from './swarmcluster-api.ts';

export interface KubeSourceOptions {
  readonly kc: KubeConfig;
  /** The management etcd, where the journal, marks and tokens are kept. */
  readonly mgmt: FencedKv;
  /** Whether a fence still proves leadership (fenceHoldsIn, src/store/fenced-write.ts). */
  readonly fenceHolds: (fence: LeaderFence) => Promise<boolean>;
  readonly prefix: string;
  readonly logger: Logger;
}

export interface KubeSpecSource extends SpecSource {
  readonly store: KubeClusterStore;
  readonly api: SwarmClusterApi;
}

export function kubeSpecSource(o: KubeSourceOptions): KubeSpecSource {
  const api = swarmClusterApi(o.kc);
  const store = new KubeClusterStore(o.kc, api, { logger: o.logger, fenceHolds: o.fenceHolds });
  const deps = { api, store, mgmt: o.mgmt, prefix: o.prefix, logger: o.logger };
  return { api, store, ingest: kubeIntake(deps), release: kubeRelease(deps) };
}
