// The backup store port: where backups live. Two adapters: a directory (the local
// provider's default, under its state dir) and S3 (@aws-sdk/client-s3). Keys are
// relative, '/'-separated paths ("prod/prod-20261201t120000000z-scheduled/etcd.db").
//
// Error semantics (callers rely on these):
// - put() is atomic: a reader sees the whole object or none of it (a crash mid-put
//   leaves no partial object under the key). It overwrites.
// - get() of a missing key throws NotFound; other failures are Unavailable/Unauthorized.
// - delete() of a missing key resolves (gone is the goal state).
// - list(prefix) returns every key under the prefix, sorted, or throws: never a partial
//   list as if it were complete.
// Integrity (checksums verified on read) is the catalogue's job (backup-catalog.ts),
// so both adapters are held to the same check.

export interface BackupStore {
  /** Where, in words: "directory /var/lib/sk/backups", "s3://bucket/prefix". */
  readonly location: string;
  /** What the store does for encryption at rest, for `backup describe`. */
  readonly encryption: string;
  put(key: string, data: Uint8Array): Promise<void>;
  get(key: string): Promise<Buffer>;
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
}

/** Keys never climb out of the store ("..", absolute paths, empty segments). */
export function assertSafeKey(key: string): void {
  const parts = key.split('/');
  if (key === '' || key.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..') || !/^[A-Za-z0-9._/-]+$/.test(key)) {
    throw new Error(`backup store key ${JSON.stringify(key)} is not a plain relative path`);
  }
}
