// The status a controller writes on a SwarmCluster: phase, conditions, counts, node rows,
// holds and the last backup. Written by the controller only; its shape is part of the
// CRD (status subresource) like the spec's.
import { Type, type Static } from '@sinclair/typebox';

const strict = { additionalProperties: false } as const;

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

export type Condition = Static<typeof ConditionSchema>;
export type ConditionType = Static<typeof ConditionTypeSchema>;
export type NodeRow = Static<typeof NodeRowSchema>;
export type Hold = Static<typeof HoldSchema>;
export type BackupStatus = Static<typeof BackupStatusSchema>;
export type SwarmClusterStatus = Static<typeof SwarmClusterStatusSchema>;
