// The SwarmCluster schema: the one source of truth. The TypeScript types below are
// derived from it (Static<>), the validator runs it, and crds/swarmcluster.yaml is
// generated from it (src/spec/crd.ts), so the three cannot drift.
//
// Rules that JSON Schema can say are said here (odd manager counts as an enum, the
// percent pattern of maxUnhealthy, exactly one provider block), so the CRD enforces
// them too; only cross-field rules live in validate.ts.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { IMAGE_REF_PATTERN } from './image-ref.ts';

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

export const Ec2ProviderSchema = Type.Object(
  {
    region: Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-\\d+$' }),
    imageId: Type.String({ pattern: '^ami-[0-9a-f]{8,17}$' }),
    subnetIds: Type.Array(Type.String({ pattern: '^subnet-[0-9a-f]{8,17}$' }), { minItems: 1, maxItems: 16 }),
    securityGroupIds: Type.Array(Type.String({ pattern: '^sg-[0-9a-f]{8,17}$' }), { minItems: 1, maxItems: 16 }),
    keyName: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    iamInstanceProfile: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    // Key rules (1-127 characters, no "aws:" prefix) are cross-field rules in rules.ts:
    // TypeBox records do not check keys.
    tags: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 127 }), Type.String({ maxLength: 255 }), { maxProperties: 40 })),
    /** An EC2-compatible endpoint (tests use a moto server on loopback). */
    endpoint: Type.Optional(Type.String({ pattern: '^https?://', maxLength: 2048 })),
    /**
     * The swarmkeeper image nodes run their agent from, in the user's registry: pinned to
     * a version tag or a digest (a cross-field rule refuses :latest and untagged).
     */
    agentImage: Type.Optional(Type.String({ pattern: IMAGE_REF_PATTERN, maxLength: 255 })),
    /** Nodes' user-data: cloud-config (coreos-cloudinit, the default) or Ignition (Flatcar's recommended path). */
    userDataFormat: Type.Optional(Type.Union([Type.Literal('cloud-config'), Type.Literal('ignition')])),
  },
  strict,
);

export const LocalProviderSchema = Type.Object(
  {
    /** Where instance directories live; default under the OS temp dir. */
    baseDir: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    /** Second octet of the 127.N.x.y block the instances get addresses from. */
    addressBlock: Type.Optional(Type.Integer({ minimum: 1, maximum: 254 })),
  },
  strict,
);

export const SimProviderSchema = Type.Object(
  {
    seed: Type.Optional(Type.Integer({ minimum: 0 })),
    bootDelaySeconds: Type.Optional(Type.Number({ minimum: 0, maximum: 3600 })),
    /** Simulated availability zones new nodes are spread over (the planner's zone list). */
    zones: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 16 })),
  },
  strict,
);

export const ProviderSchema = Type.Object(
  {
    ec2: Type.Optional(Ec2ProviderSchema),
    local: Type.Optional(LocalProviderSchema),
    sim: Type.Optional(SimProviderSchema),
  },
  { ...strict, minProperties: 1, maxProperties: 1 },
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

/** A directory on the controller's machine (the local provider's default store). */
export const DirectoryStoreSchema = Type.Object(
  {
    /** Absolute path; default `<provider.local.baseDir>/backups` for the local provider. */
    path: Type.Optional(Type.String({ pattern: '^/', minLength: 2, maxLength: 1024 })),
  },
  strict,
);

/** An S3 bucket (or an S3-compatible endpoint); credentials come from the AWS default chain. */
export const S3StoreSchema = Type.Object(
  {
    bucket: Type.String({ pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' }),
    /** Key prefix inside the bucket; backups go under `<prefix><cluster>/`. */
    prefix: Type.Optional(Type.String({ maxLength: 512, pattern: '^[A-Za-z0-9!_.*()/-]*$' })),
    region: Type.Optional(Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-\\d+$' })),
    /** An S3-compatible endpoint (tests use a moto server on loopback). */
    endpoint: Type.Optional(Type.String({ pattern: '^https?://' })),
    forcePathStyle: Type.Optional(Type.Boolean()),
    /** Encryption at rest, asked of S3 on every put: AES256 (S3-managed keys) or aws:kms. */
    serverSideEncryption: Type.Optional(Type.Union([Type.Literal('AES256'), Type.Literal('aws:kms')])),
    kmsKeyId: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
  },
  strict,
);

export const BackupStoreSchema = Type.Object(
  {
    directory: Type.Optional(DirectoryStoreSchema),
    s3: Type.Optional(S3StoreSchema),
  },
  { ...strict, minProperties: 1, maxProperties: 1 },
);

export const BackupSchema = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean()),
    /** How often a scheduled backup (etcd snapshot and swarm state) is taken. */
    intervalSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 604800 })),
    retention: Type.Optional(
      Type.Object(
        {
          /** Newest backups kept; older ones are deleted after each new one. */
          count: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
          /** Backups older than this are deleted (the newest good one is always kept). */
          maxAgeSeconds: Type.Optional(Type.Integer({ minimum: 3600, maximum: 31622400 })),
        },
        strict,
      ),
    ),
    store: Type.Optional(BackupStoreSchema),
    /**
     * A manager membership change waits for an etcd snapshot of the current membership.
     * When taking it failed: `hold` (default) keeps the change waiting; `proceed` is the
     * explicit override that lets it go on without one.
     */
    onPreChangeFailure: Type.Optional(Type.Union([Type.Literal('hold'), Type.Literal('proceed')])),
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

export const ConditionTypeSchema = Type.Union([
  Type.Literal('Ready'),
  Type.Literal('Progressing'),
  Type.Literal('Degraded'),
  Type.Literal('SpecValid'),
]);

export const ConditionSchema = Type.Object(
  {
    type: ConditionTypeSchema,
    status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')]),
    reason: Type.String(),
    message: Type.String(),
    lastTransitionTime: Type.String(),
  },
  strict,
);

export const RoleCountsSchema = Type.Object({ desired: Type.Integer(), ready: Type.Integer() }, strict);

export const NodeRowSchema = Type.Object(
  {
    instanceId: Type.String(),
    role: Type.Union([Type.Literal('manager'), Type.Literal('worker')]),
    address: Type.Optional(Type.String()),
    zone: Type.Optional(Type.String()),
    instanceState: Type.String(),
    swarmNodeId: Type.Optional(Type.String()),
    swarmState: Type.Optional(Type.String()),
    swarmRole: Type.Optional(Type.String()),
    availability: Type.Optional(Type.String()),
    etcdMemberId: Type.Optional(Type.String()),
    etcdMembership: Type.Optional(Type.String()),
    healthy: Type.Boolean(),
    marks: Type.Optional(Type.Array(Type.String())),
    configHash: Type.Optional(Type.String()),
    launchedAt: Type.Optional(Type.String()),
  },
  strict,
);

export const HoldSchema = Type.Object({ rule: Type.String(), reason: Type.String(), message: Type.String() }, strict);

export const BackupStatusSchema = Type.Object(
  {
    /** The newest backup that completed and verified. */
    lastBackup: Type.Optional(
      Type.Object(
        {
          name: Type.String(),
          takenAt: Type.String(),
          purpose: Type.String(),
          sizeBytes: Type.Integer(),
          durationSeconds: Type.Number(),
          etcdRevision: Type.Optional(Type.Integer()),
        },
        strict,
      ),
    ),
    /** The newest failed attempt, when it is newer than the last good backup. */
    lastFailure: Type.Optional(Type.Object({ at: Type.String(), purpose: Type.String(), error: Type.String() }, strict)),
  },
  strict,
);

export const SwarmClusterStatusSchema = Type.Object(
  {
    observedGeneration: Type.Optional(Type.Integer()),
    phase: Type.Optional(
      Type.Union([
        Type.Literal('Pending'),
        Type.Literal('Provisioning'),
        Type.Literal('Ready'),
        Type.Literal('Degraded'),
        Type.Literal('Frozen'),
        Type.Literal('Paused'),
        Type.Literal('Deleting'),
      ]),
    ),
    conditions: Type.Optional(Type.Array(ConditionSchema)),
    managers: Type.Optional(RoleCountsSchema),
    workers: Type.Optional(RoleCountsSchema),
    nodes: Type.Optional(Type.Array(NodeRowSchema)),
    holds: Type.Optional(Type.Array(HoldSchema)),
    backup: Type.Optional(BackupStatusSchema),
    lastReconcileTime: Type.Optional(Type.String()),
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
export type Ec2ProviderSpec = Static<typeof Ec2ProviderSchema>;
export type LocalProviderSpec = Static<typeof LocalProviderSchema>;
export type SimProviderSpec = Static<typeof SimProviderSchema>;
export type ProviderSpec = Static<typeof ProviderSchema>;
export type BackupSpec = Static<typeof BackupSchema>;
export type BackupStoreSpec = Static<typeof BackupStoreSchema>;
export type S3StoreSpec = Static<typeof S3StoreSchema>;
export type SwarmClusterSpec = Static<typeof SwarmClusterSpecSchema>;
export type Metadata = Static<typeof MetadataSchema>;
export type Condition = Static<typeof ConditionSchema>;
export type ConditionType = Static<typeof ConditionTypeSchema>;
export type NodeRow = Static<typeof NodeRowSchema>;
export type Hold = Static<typeof HoldSchema>;
export type BackupStatus = Static<typeof BackupStatusSchema>;
export type SwarmClusterStatus = Static<typeof SwarmClusterStatusSchema>;
export type SwarmCluster = Static<typeof SwarmClusterSchema>;
export type Role = 'manager' | 'worker';
export type ProviderName = keyof ProviderSpec;

export function schemaOf(): TSchema {
  return SwarmClusterSchema;
}
