// The Kubernetes spec source, assembled: SwarmCluster objects read and watched through
// @kubernetes/client-node, status through the status subresource (fenced by the
// management etcd's leader election, which still guards the journal, marks and tokens),
// deletion through the finalizer. `swarmkeeper run --spec-source kubernetes` and the
// tests build it here.
import type { Etcd3 } from 'etcd3';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../log.ts';
import type { Provider } from '../providers/provider.ts';
import type { ResolvedSpec } from '../spec/defaults.ts';
import type { LeaderFence, SpecSource } from '../store/port.ts';
import { kubeIntake, type TearDown } from './kube-finalizer.ts';
import { KubeClusterStore } from './kube-store.ts';
import { swarmClusterApi, type SwarmClusterApi } from './swarmcluster-api.ts';

export interface KubeSourceOptions {
  readonly kc: KubeConfig;
  /** The management etcd, where leadership is proven. */
  readonly mgmt: Etcd3;
  readonly logger: Logger;
  /** Namespace Events are recorded in (the objects are cluster-scoped). */
  readonly eventNamespace?: string;
  readonly tearDown?: TearDown;
}

export interface KubeSpecSource {
  readonly api: SwarmClusterApi;
  readonly build: (providerFor: (spec: ResolvedSpec) => Provider) => SpecSource;
}

export function kubeSpecSource(o: KubeSourceOptions): KubeSpecSource {
  const api = swarmClusterApi(o.kc, o.eventNamespace ? { eventNamespace: o.eventNamespace } : {});
  const fenceHolds = async (fence: LeaderFence): Promise<boolean> => {
    const res = await o.mgmt.kv.range({ key: Buffer.from(fence.key) });
    return res.kvs[0]?.create_revision === fence.createRevision;
  };
  return {
    api,
    build: (providerFor) => {
      const store = new KubeClusterStore(o.kc, api, { logger: o.logger, fenceHolds });
      return { store, ingest: kubeIntake({ api, store, providerFor, logger: o.logger, ...(o.tearDown ? { tearDown: o.tearDown } : {}) }) };
    },
  };
}
