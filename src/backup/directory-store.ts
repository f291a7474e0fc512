// The directory adapter of the backup store port. Writes are atomic and durable:
// write-file-atomic writes a temp file beside the target, fsyncs it and renames it over
// the target; the directory is then fsynced too so the rename itself survives a crash.
// Files are 0600 and directories 0700: an etcd snapshot holds the cluster's keys.
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { SwarmkeeperError, wrapError } from '../errors.ts';
import { assertSafeKey, type BackupStore } from './port.ts';

export class DirectoryStore implements BackupStore {
  readonly location: string;
  readonly encryption = 'none by swarmkeeper (files are 0600; use an encrypted filesystem for encryption at rest)';

  constructor(private readonly root: string) {
    this.location = `directory ${root}`;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const file = this.pathOf(key);
    try {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      await writeFileAtomic(file, Buffer.from(data.buffer, data.byteOffset, data.byteLength), { mode: 0o600, fsync: true });
      await fsyncDir(dirname(file));
    } catch (err) {
      throw wrapError(`writing ${key} to ${this.location}`, err);
    }
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await readFile(this.pathOf(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new SwarmkeeperError('NotFound', `${key} is not in ${this.location}`, { cause: err });
      throw wrapError(`reading ${key} from ${this.location}`, err);
    }
  }

  async list(prefix: string): Promise<string[]> {
    try {
      const entries = await readdir(this.root, { recursive: true, withFileTypes: true });
      return entries
        .filter((e) => e.isFile() && !isTempFile(e.name))
        .map((e) => relative(this.root, join(e.parentPath, e.name)).split(sep).join('/'))
        .filter((k) => k.startsWith(prefix))
        .sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw wrapError(`listing ${this.location}`, err);
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    try {
      await rm(file, { force: true });
      await rm(dirname(file), { recursive: false }).catch(() => undefined); // only when empty
    } catch (err) {
      throw wrapError(`deleting ${key} from ${this.location}`, err);
    }
  }

  private pathOf(key: string): string {
    assertSafeKey(key);
    return join(this.root, ...key.split('/'));
  }
}

/** write-file-atomic's temp files are `<name>.<hash>`: never list one as an object. */
function isTempFile(name: string): boolean {
  return /\.\d+$/.test(name) && !/\.(db|json)$/.test(name);
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
