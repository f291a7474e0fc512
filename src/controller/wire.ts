// The real wiring of a controller: the spec source (the management etcd with spec
// intake, or Kubernetes SwarmCluster objects), the planner and its precondition checks,
// the dockerode and etcd adapters, the mark store and the provider the spec names.
// `swarmkeeper run`, the demo and the integration tests all build their controller
// here, so they run the same thing.
import type { Logger } from '../log.ts';
import { checkPrecondition } from '../plan/preconditions.ts';
import { plan } from '../plan/plan.ts';
import type { Provider } from '../providers/provider.ts';
import type { ResolvedSpec } from '../spec/defaults.ts';
import type { EtcdMarkStore } from '../store/mark-store.ts';
import type { Management } from '../store/management.ts';
import type { ClusterStore, LeaderFence } from '../store/port.ts';
import { ingestSpec } from '../store/spec-intake.ts';
import { backupTaker } from '../backup/take-backup.ts';
import { livePeerFactories } from './live-peers.ts';
import type { ActDeps } from '../act/context.ts';
import { createController, type Controller, type ControllerSettings } from './controller.ts';
import type { LoopSettings } from './reconcile.ts';
import { providerForSpec, type ProviderWiring } from './providers.ts';

/**
 * Where the controller's specs come from. Either way the journal, marks, tokens and the
 * election stay in the management etcd; a source only decides how a spec is read, how
 * status is written, what runs before each cycle and how a deleted cluster is released.
 */
export interface SpecSource {
  readonly store: ClusterStore;
  /** Runs before each cycle of a cluster (spec promotion, a finalizer to add). */
  ingest(name: string, fence: LeaderFence): Promise<unknown>;
  /** Runs cluster.release, the end of a cascading deletion (default: releaseCluster). */
  readonly release?: ActDeps['release'];
}

/**
 * What `swarmkeeper run`, the demo and the tests give: the management etcd and how the
 * controller runs (ControllerSettings, passed on as they are). The wiring adds the real
 * adapters: the spec source, the planner, the peers, the provider the spec names.
 */
export interface ControllerWiring extends ControllerSettings {
  /** The management etcd's ports (src/store/management.ts); the caller owns its client. */
  readonly management: Management;
  /** Management etcd endpoints as node agents reach them. */
  readonly managementEndpoints: readonly string[];
  readonly logger: Logger;
  /** Replaces the provider the spec names (tests, the demo's sim fallback). */
  readonly providerFor?: (spec: ResolvedSpec) => Provider;
  readonly local?: ProviderWiring['local'];
  /** Another spec source than the management etcd (Kubernetes: src/kube/kube-source.ts). */
  readonly specSource?: SpecSource;
  /** Step and observation settings every cycle is given as they are. */
  readonly cycles?: Pick<LoopSettings, 'timeouts' | 'observeTimeoutMs' | 'selfInstanceId'>;
}

export interface WiredController {
  readonly controller: Controller;
  readonly store: ClusterStore;
  readonly marks: EtcdMarkStore;
}

export function wireController(w: ControllerWiring): WiredController {
  const { management, providerFor, local, specSource, cycles, ...settings } = w;
  const source = specSource ?? etcdSpecSource(management);
  const controller = createController({
    ...settings,
    management,
    prefix: management.prefix,
    providerFor: providerFor ?? ((spec) => providerForSpec(spec, { logger: w.logger, ...(local ? { local } : {}) })),
    peers: livePeerFactories(),
    loop: {
      ...cycles,
      store: source.store,
      plan,
      checkPrecondition,
      marks: management.marks,
      ingest: (name, fence) => source.ingest(name, fence),
      ...(source.release ? { release: source.release } : {}),
      takeBackup: backupTaker((cluster, o) => w.metrics?.backups.recordAttempt(cluster, o)),
    },
  });
  return { controller, store: source.store, marks: management.marks };
}

/** Specs in the management etcd: the store plus spec intake (validation, last-good). */
function etcdSpecSource(management: Management): SpecSource {
  const store = management.specs;
  return { store, ingest: (name, fence) => ingestSpec(store, name, Date.now(), fence) };
}
