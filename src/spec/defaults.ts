// Defaults are applied here and nowhere else. The planner and the controller only ever
// see a ResolvedSpec, in which every optional knob has its value, so "what happens when
// the field is absent" is answered in one place.
import type { BackupSpec, BackupStoreSpec, ProviderName, ProviderSpec, Role, SwarmCluster, SwarmClusterSpec, Unit } from './schema.ts';

export const DEFAULTS = {
  instanceType: { manager: 't3.medium', worker: 't3.large' },
  rollout: { maxSurge: 1, maxUnavailable: 1, drainTimeoutSeconds: 300 },
  healing: {
    enabled: true,
    unhealthyAfterSeconds: 120,
    nodeStartupTimeoutSeconds: 600,
    maxUnhealthy: '40%' as number | string,
    minHealthySeconds: 60,
    maxRetriesPerNode: 3,
  },
  backup: {
    intervalSeconds: 3600,
    retention: { count: 24, maxAgeSeconds: 7 * 86400 },
    onPreChangeFailure: 'hold' as 'hold' | 'proceed',
  },
} as const;

/** Where backups go when spec.backup.store is not given (the local provider's state dir). */
export const LOCAL_BACKUP_SUBDIR = 'backups';

export interface ResolvedBackup {
  readonly intervalSeconds: number;
  readonly retention: { readonly count: number; readonly maxAgeSeconds: number };
  /** Undefined: the provider's default (a directory under the local provider's state). */
  readonly store?: BackupStoreSpec;
  readonly onPreChangeFailure: 'hold' | 'proceed';
}

export interface ResolvedRole {
  readonly count: number;
  readonly instanceType: string;
  readonly units: readonly Unit[];
}

export interface ResolvedSpec {
  readonly name: string;
  readonly generation: number;
  readonly managers: ResolvedRole;
  readonly workers: ResolvedRole;
  readonly provider: ProviderSpec;
  readonly providerName: ProviderName;
  readonly rollout: { readonly maxSurge: number; readonly maxUnavailable: number; readonly drainTimeoutSeconds: number };
  readonly healing: {
    readonly enabled: boolean;
    readonly unhealthyAfterSeconds: number;
    readonly nodeStartupTimeoutSeconds: number;
    readonly maxUnhealthy: number | string;
    readonly minHealthySeconds: number;
    readonly maxRetriesPerNode: number;
  };
  readonly paused: boolean;
  /** Undefined when backups are off (no spec.backup block, or enabled: false). */
  readonly backup?: ResolvedBackup;
  /**
   * Set once deletion was asked for (metadata.deletionTimestamp, ms epoch): the planner
   * takes every node down and then releases the cluster (cascading deletion).
   */
  readonly deletionRequestedAt?: number;
}

/** The resolved spec of a stored document (its name is the key's: stored-doc.ts checks). */
export function resolveCluster(cluster: SwarmCluster): ResolvedSpec {
  const spec = resolveSpec(cluster.metadata.name, cluster.metadata.generation ?? 0, cluster.spec);
  const deletion = cluster.metadata.deletionTimestamp === undefined ? Number.NaN : Date.parse(cluster.metadata.deletionTimestamp);
  return Number.isNaN(deletion) ? spec : { ...spec, deletionRequestedAt: deletion };
}

export function resolveSpec(name: string, generation: number, spec: SwarmClusterSpec): ResolvedSpec {
  const providerName = (Object.keys(spec.provider) as ProviderName[])[0] ?? 'local';
  return {
    name,
    generation,
    managers: resolveRole('manager', spec.managers),
    workers: resolveRole('worker', spec.workers),
    provider: spec.provider,
    providerName,
    rollout: { ...DEFAULTS.rollout, ...dropUndefined(spec.rollout ?? {}) },
    healing: { ...DEFAULTS.healing, ...dropUndefined(spec.healing ?? {}) },
    paused: spec.paused ?? false,
    ...resolveBackup(spec.backup),
  };
}

function resolveBackup(b: BackupSpec | undefined): { backup?: ResolvedBackup } {
  if (!b || b.enabled === false) return {};
  const d = DEFAULTS.backup;
  return {
    backup: {
      intervalSeconds: b.intervalSeconds ?? d.intervalSeconds,
      retention: { ...d.retention, ...dropUndefined(b.retention ?? {}) },
      ...(b.store ? { store: b.store } : {}),
      onPreChangeFailure: b.onPreChangeFailure ?? d.onPreChangeFailure,
    },
  };
}

function resolveRole(role: Role, r: { count: number; instanceType?: string; units?: Unit[] }): ResolvedRole {
  return { count: r.count, instanceType: r.instanceType ?? DEFAULTS.instanceType[role], units: r.units ?? [] };
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * maxUnhealthy as a node count for a role of `total` nodes. Percentages round down,
 * as Cluster API's MachineHealthCheck does: "40%" of 3 is 1.
 */
export function maxUnhealthyCount(maxUnhealthy: number | string, total: number): number {
  if (typeof maxUnhealthy === 'number') return maxUnhealthy;
  const pct = Number.parseInt(maxUnhealthy, 10);
  return Math.floor((pct * total) / 100);
}
