// The S3 backup store, with its client (@aws-sdk/client-s3) imported at the first
// transfer: a controller whose clusters keep their backups in a directory never loads it.
import { lazyModule } from '../lazy-module.ts';
import type { S3StoreSpec } from '../spec/schema.ts';
import type { BackupStore } from './port.ts';
import { s3Encryption, s3Location } from './s3-description.ts';

const s3Module = lazyModule('spec.backup.store.s3 (backups in S3)', () => import('./s3-store.ts'));

export function lazyS3Store(spec: S3StoreSpec): BackupStore {
  let opened: Promise<BackupStore> | undefined;
  const open = (): Promise<BackupStore> => {
    opened ??= s3Module().then(
      ({ S3Store }) => new S3Store(spec),
      (err: unknown) => {
        opened = undefined;
        throw err;
      },
    );
    return opened;
  };
  return {
    location: s3Location(spec),
    encryption: s3Encryption(spec),
    put: async (key, data) => (await open()).put(key, data),
    get: async (key) => (await open()).get(key),
    list: async (prefix) => (await open()).list(prefix),
    delete: async (key) => (await open()).delete(key),
  };
}
