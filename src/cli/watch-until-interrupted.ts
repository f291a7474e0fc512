// The loop behind `get -w` and `status -w`: watch the clusters' spec and status keys
// (the store's watch, which survives etcd restarts and compaction) and hand every
// change to `onChange`, one at a time, until the user interrupts. SIGINT and SIGTERM end
// the watch cleanly, so the command exits 0 as kubectl's does.
import type { EtcdClusterStore } from '../store/etcd-store.ts';
import type { ClusterWatchEvent } from '../store/port.ts';
import { watchClusterSpecs } from '../store/store-watch.ts';

export async function watchUntilInterrupted(store: EtcdClusterStore, onChange: (e: ClusterWatchEvent) => Promise<void>): Promise<void> {
  let chain: Promise<void> = Promise.resolve();
  let failure: unknown;
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  // Changes are handled in order; a failed read ends the watch with that error.
  const watcher = await watchClusterSpecs(
    store.client,
    store.prefix,
    (e) => {
      chain = chain
        .then(() => onChange(e))
        .catch((err: unknown) => {
          failure ??= err;
          stop();
        });
    },
    undefined,
    { includeStatus: true },
  );
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await stopped;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await watcher.close();
  }
  if (failure !== undefined) throw failure;
}
