// Streams an etcd snapshot from ONE member (etcd's Maintenance.Snapshot API, what
// `etcdctl snapshot save` uses): the member's whole backend, consistent at one revision,
// followed by etcd's own SHA-256 trailer (`etcdctl snapshot restore` checks it). The
// client is pinned to the member's URL alone so the snapshot comes from the member
// chosen, not from whichever endpoint the client balances to.
import { Etcd3 } from 'etcd3';
import { SwarmkeeperError, messageOf } from '../errors.ts';

export interface EtcdSnapshot {
  readonly data: Buffer;
  /**
   * The store revision the snapshot holds: from the stream's header where etcd sends one
   * (3.5+), else the member's revision just before the stream began (3.4): a lower bound.
   */
  readonly revision?: number;
}

export async function streamEtcdSnapshot(clientURL: string, timeoutMs = 120_000): Promise<EtcdSnapshot> {
  const client = new Etcd3({ hosts: [clientURL], dialTimeout: 5_000 });
  try {
    const before = await client.maintenance.status().then(
      (s) => Number(s.header.revision),
      () => undefined,
    );
    const stream = await client.maintenance.snapshot({ deadline: new Date(Date.now() + timeoutMs) });
    return await new Promise<EtcdSnapshot>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let revision: number | undefined;
      let remaining = '';
      stream.on('data', (r) => {
        if (revision === undefined && r.header?.revision) revision = Number(r.header.revision);
        chunks.push(Buffer.from(r.blob));
        remaining = r.remaining_bytes;
      });
      stream.on('error', (err) =>
        reject(new SwarmkeeperError('Unavailable', `streaming an etcd snapshot from ${clientURL}: ${messageOf(err)}`, { cause: err })),
      );
      stream.on('end', () => {
        const data = Buffer.concat(chunks);
        // The last message says 0 bytes remain: anything else is a cut-off stream.
        if (remaining !== '0' || data.length === 0) {
          reject(
            new SwarmkeeperError(
              'Unavailable',
              `streaming an etcd snapshot from ${clientURL}: the stream ended early (${data.length} bytes)`,
            ),
          );
          return;
        }
        const rev = revision ?? before;
        resolve({ data, ...(rev === undefined || Number.isNaN(rev) ? {} : { revision: rev }) });
      });
    });
  } catch (err) {
    if (err instanceof SwarmkeeperError) throw err;
    throw new SwarmkeeperError('Unavailable', `streaming an etcd snapshot from ${clientURL}: ${messageOf(err)}`, { cause: err });
  } finally {
    client.close();
  }
}
