// The SwarmCluster schema: the one source of truth. The TypeScript types below are
// derived from it (Static<>), the validator runs it, and crds/swarmcluster.yaml is
// generated from it (src/spec/crd.ts), so the three cannot drift.
//
// Rules that JSON Schema can say are said here (odd manager counts as an enum, the
// percent pattern of maxUnhealthy, exactly one provider block), so the CRD enforces
// them too; only cross-field rules live in validate.ts.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { BackupSchema } from './backup-schema.ts';
import { ProviderSchema } from './provider-schema.ts';
import { SwarmClusterStatusSchema } from './status-schema.ts';

// The parts live beside this file, one block each; importers keep reading them from here.
export * from './backup-schema.ts';
export * from './provider-schema.ts';
export * from './status-schema.ts';

export const API_VERSION = 'swarmkeeper.dev/v1alpha1';
export const KIND = 'SwarmCluster';

const strict = { additionalProperties: false } as const;

export const MAX_LABELS = 64;
export const MAX_ANNOTATIONS = 64;

/** An extra systemd unit a node of the role runs (the seeds' manager-systemd-units.txt). */
export const UnitSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9@._-]+\\.(service|timer|socket|mount|path|target)$', maxLength: 128 }),
    command: Type.Optional(Type.Union([Type.Literal('start'), Type.Literal('stop'), Type.Literal('restart')])),
    enable: Type.Optional(Type.Boolean()),
    content: Type.Optional(Type.String({ maxLength: 8192 })),
    dropIns: Type.Optional(
      Type.Array(
        Type.Object(
          { name: Type.String({ pattern: '^[A-Za-z0-9._-]+\\.conf$', maxLength: 128 }), content: Type.String({ maxLength: 8192 }) },
          strict,
        ),
        { maxItems: 16 },
      ),
    ),
  },
  strict,
);

export const ManagersSchema = Type.Object(
  {
    // Odd sizes only: an even etcd/raft membership tolerates no more failures than the
    // odd size below it and costs one more member. 7 is the most swarmkit recommends.
    count: Type.Union([Type.Literal(1), Type.Literal(3), Type.Literal(5), Type.Literal(7)]),
    instanceType: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    units: Type.Optional(Type.Array(UnitSchema, { maxItems: 32 })),
  },
  strict,
);

export const WorkersSchema = Type.Object(
  {
    count: Type.Integer({ minimum: 0, maximum: 10000 }),
    instanceType: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    units: Type.Optional(Type.Array(UnitSchema, { maxItems: 32 })),
  },
  strict,
);

export const RolloutSchema = Type.Object(
  {
    maxSurge: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    maxUnavailable: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    drainTimeoutSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86400 })),
  },
  strict,
);

/** A count ("2") or a percent of the role's desired count ("40%"). */
export const IntOrPercentSchema = Type.Union([
  Type.Integer({ minimum: 0 }),
  Type.String({ pattern: '^(100|[1-9]?[0-9])%$', maxLength: 4 }),
]);

export const HealingSchema = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean()),
    unhealthyAfterSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400 })),
    nodeStartupTimeoutSeconds: Type.Optional(Type.Integer({ minimum: 10, maximum: 86400 })),
    maxUnhealthy: Type.Optional(IntOrPercentSchema),
    /** A replaced node must stay healthy this long before the next remediation. */
    minHealthySeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86400 })),
    /** How often one node may be remediated before swarmkeeper gives up on it. */
    maxRetriesPerNode: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
  },
  strict,
);

export const SwarmClusterSpecSchema = Type.Object(
  {
    managers: ManagersSchema,
    workers: WorkersSchema,
    provider: ProviderSchema,
    rollout: Type.Optional(RolloutSchema),
    healing: Type.Optional(HealingSchema),
    /** Scheduled and pre-change backups: etcd snapshots and the swarm's state. */
    backup: Type.Optional(BackupSchema),
    /** The pause switch: observe and report, change nothing. */
    paused: Type.Optional(Type.Boolean()),
  },
  strict,
);

export const MetadataSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' }),
    // Bounded like every map and list here: a document's cost to read must stay small
    // (Kubernetes' own limits: 63-character label values, 253 + 63-character keys).
    labels: Type.Optional(
      Type.Record(Type.String({ minLength: 1, maxLength: 317 }), Type.String({ maxLength: 63 }), { maxProperties: MAX_LABELS }),
    ),
    annotations: Type.Optional(
      Type.Record(Type.String({ minLength: 1, maxLength: 317 }), Type.String({ maxLength: 4096 }), { maxProperties: MAX_ANNOTATIONS }),
    ),
    // Set by the store, never by the user; accepted on input so `get -o yaml | apply -f -` works.
    generation: Type.Optional(Type.Integer({ minimum: 0 })),
    resourceVersion: Type.Optional(Type.String({ maxLength: 32 })),
    creationTimestamp: Type.Optional(Type.String({ maxLength: 64 })),
    uid: Type.Optional(Type.String({ maxLength: 64 })),
    // Set by the store when deletion was asked for (`swarmkeeper delete`): the cluster's
    // nodes are being taken down, then its keys are removed.
    deletionTimestamp: Type.Optional(Type.String({ maxLength: 64 })),
    // What Kubernetes keeps on every object (object-meta.ts checks them as it does), so
    // an object read from the API server, or written for it, is accepted here too.
    // namespace: the resource is cluster-scoped, so the API server drops it.
    namespace: Type.Optional(Type.String({ maxLength: 63 })),
    generateName: Type.Optional(Type.String({ maxLength: 253 })),
    finalizers: Type.Optional(Type.Array(Type.String({ maxLength: 317 }), { maxItems: 32 })),
    deletionGracePeriodSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
    ownerReferences: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()), { maxItems: 32 })),
    managedFields: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()), { maxItems: 64 })),
    selfLink: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  strict,
);

export const SwarmClusterSchema = Type.Object(
  {
    apiVersion: Type.Literal(API_VERSION),
    kind: Type.Literal(KIND),
    metadata: MetadataSchema,
    spec: SwarmClusterSpecSchema,
    status: Type.Optional(SwarmClusterStatusSchema),
  },
  strict,
);

export type Unit = Static<typeof UnitSchema>;
export type SwarmClusterSpec = Static<typeof SwarmClusterSpecSchema>;
export type Metadata = Static<typeof MetadataSchema>;
export type SwarmCluster = Static<typeof SwarmClusterSchema>;
export type Role = 'manager' | 'worker';

export function schemaOf(): TSchema {
  return SwarmClusterSchema;
}
