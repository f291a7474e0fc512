// `etcdctl snapshot restore` (etcd 3.4; etcdutl in 3.5+): turns a snapshot into the data
// dir of a NEW one-member cluster (new cluster id, the member named and addressed as
// given). It checks the snapshot's own SHA-256 trailer, so a damaged snapshot fails here
// before any etcd starts from it.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SwarmkeeperError } from '../errors.ts';

const run = promisify(execFile);

export interface RestoreTarget {
  readonly name: string;
  readonly peerUrl: string;
  /** Must not exist yet: etcdctl refuses to restore over a data dir. */
  readonly dataDir: string;
  readonly clusterToken: string;
}

export async function restoreEtcdSnapshot(snapshot: Uint8Array, target: RestoreTarget): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'sk-restore-'));
  const file = join(work, 'snapshot.db');
  try {
    await writeFile(file, snapshot, { mode: 0o600 });
    await run(
      'etcdctl',
      [
        'snapshot',
        'restore',
        file,
        '--name',
        target.name,
        '--initial-cluster',
        `${target.name}=${target.peerUrl}`,
        '--initial-cluster-token',
        target.clusterToken,
        '--initial-advertise-peer-urls',
        target.peerUrl,
        '--data-dir',
        target.dataDir,
      ],
      { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 120_000 },
    );
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? (err as Error).message)
      .trim()
      .split('\n')
      .slice(-3)
      .join(' ');
    throw new SwarmkeeperError(
      /hash mismatch|invalid|corrupt|unexpected EOF|snapshot file/i.test(stderr) ? 'Corrupt' : 'Unavailable',
      `restoring the etcd snapshot: ${stderr}`,
      { cause: err },
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Restores into a throw-away dir: proves the snapshot is whole (its trailer matches). */
export async function verifyEtcdSnapshot(snapshot: Uint8Array): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'sk-verify-'));
  try {
    await restoreEtcdSnapshot(snapshot, {
      name: 'verify',
      peerUrl: 'http://127.0.0.1:2380',
      dataDir: join(work, 'data'),
      clusterToken: 'verify',
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
