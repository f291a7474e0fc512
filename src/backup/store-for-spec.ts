// The backup store a spec names: spec.backup.store, or for the local provider its
// default, a directory under the provider's state dir (`<baseDir>/backups`).
import { join } from 'node:path';
import { SwarmkeeperError } from '../errors.ts';
import { DEFAULT_LOCAL_BASE_DIR } from '../providers/local/local-provider.ts';
import { LOCAL_BACKUP_SUBDIR, type ResolvedSpec } from '../spec/defaults.ts';
import type { BackupStoreSpec } from '../spec/schema.ts';
import { DirectoryStore } from './directory-store.ts';
import type { BackupStore } from './port.ts';
import { lazyS3Store } from './lazy-s3-store.ts';

export function storeSpecOf(spec: ResolvedSpec): BackupStoreSpec {
  if (spec.backup?.store) return spec.backup.store;
  if (spec.provider.local) return { directory: { path: join(spec.provider.local.baseDir ?? DEFAULT_LOCAL_BASE_DIR, LOCAL_BACKUP_SUBDIR) } };
  throw new SwarmkeeperError('SpecInvalid', `cluster ${spec.name}: spec.backup.store is required with the ${spec.providerName} provider`, {
    details: { field: 'spec.backup.store' },
  });
}

export function openBackupStore(store: BackupStoreSpec): BackupStore {
  if (store.s3) return lazyS3Store(store.s3);
  if (store.directory?.path) return new DirectoryStore(store.directory.path);
  throw new SwarmkeeperError('SpecInvalid', 'spec.backup.store.directory.path is required outside the local provider', {
    details: { field: 'spec.backup.store.directory.path' },
  });
}
