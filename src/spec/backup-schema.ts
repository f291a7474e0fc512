// The backup block of a SwarmCluster spec: schedule, retention and the store backups go to.
import { Type, type Static } from '@sinclair/typebox';

const strict = { additionalProperties: false } as const;

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

export type BackupSpec = Static<typeof BackupSchema>;
export type BackupStoreSpec = Static<typeof BackupStoreSchema>;
export type S3StoreSpec = Static<typeof S3StoreSchema>;
