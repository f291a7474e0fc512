// What the spec commands share: reading `-f FILE` (or `-f -` for stdin) and opening
// the management etcd store for the length of one command (always closed after, or
// the gRPC channel would keep the process alive).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { SwarmkeeperError, isSwarmkeeperError } from '../errors.ts';
import { createEtcdClient } from '../store/etcd-client.ts';
import { EtcdClusterStore } from '../store/etcd-store.ts';
import { etcdOptionsOf } from './global-options.ts';

export const RESOURCE = 'swarmcluster.swarmkeeper.dev';
export const RESOURCES = 'swarmclusters.swarmkeeper.dev';

/** The text of FILE, or of stdin for "-", plus a name for messages. */
export function readSource(file: string): { text: string; source: string } {
  if (file === '-') return { text: readFileSync(0, 'utf8'), source: 'stdin' };
  try {
    return { text: readFileSync(file, 'utf8'), source: file };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (code ?? 'unreadable');
    throw new SwarmkeeperError('NotFound', `cannot read ${file}: ${why}`, { cause: err });
  }
}

export async function withStore<T>(cmd: Command, fn: (store: EtcdClusterStore) => Promise<T>): Promise<T> {
  const opts = etcdOptionsOf(cmd);
  const store = new EtcdClusterStore(createEtcdClient(opts), { prefix: opts.prefix });
  try {
    return await fn(store);
  } catch (err) {
    // A refused connection or a deadline says little by itself: name where we looked.
    if (isSwarmkeeperError(err, 'Unavailable')) {
      const why = err.message.replace(/\s*Resolution note:\s*$/, '');
      throw new SwarmkeeperError(
        'Unavailable',
        `${why}\n(etcd endpoints tried: ${opts.endpoints.join(', ')}; set --etcd-endpoints or SWARMKEEPER_ETCD_ENDPOINTS)`,
        { cause: err },
      );
    }
    throw err;
  } finally {
    await store.close();
  }
}

export function notFound(name: string): SwarmkeeperError {
  return new SwarmkeeperError('NotFound', `${RESOURCES} "${name}" not found`);
}
