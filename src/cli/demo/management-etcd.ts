// The demo's management etcd: one member on a loopback address of its own (the pool's
// block 201), data in the demo's temp dir. Attached (it dies with the demo) unless the
// cluster is kept (--keep), then detached with a pid file so `demo --down` can stop it.
import { join } from 'node:path';
import { startEtcdProcess, stopEtcdByPidFile, type EtcdProcess } from '../../etcd/etcd-process.ts';
import { DEFAULT_POOL_DIR, releaseLoopback, reserveLoopback, transferLoopback } from '../../net/loopback-pool.ts';

export const DEMO_MGMT_BLOCK = 201;

export interface ManagementEtcd {
  readonly clientUrl: string;
  readonly address: string;
  readonly pidFile: string;
  readonly process: EtcdProcess;
  stop(): Promise<void>;
}

export function managementEtcdPaths(dir: string) {
  return {
    dataDir: join(dir, 'mgmt-etcd'),
    pidFile: join(dir, 'mgmt-etcd.pid'),
    logFile: join(dir, 'mgmt-etcd.log'),
    addressFile: join(dir, 'mgmt-etcd.address'),
  };
}

export async function startManagementEtcd(dir: string, opts: { detached: boolean }): Promise<ManagementEtcd> {
  const { address, poolDir } = reserveAddress();
  const paths = managementEtcdPaths(dir);
  try {
    const proc = await startEtcdProcess({
      name: 'mgmt',
      dataDir: paths.dataDir,
      clientUrls: [`http://${address}:2379`],
      peerUrl: `http://${address}:2380`,
      initialClusterToken: `sk-demo-mgmt-${address}`,
      logFile: paths.logFile,
      pidFile: paths.pidFile,
      detached: opts.detached,
    });
    // A kept demo outlives this process: hold the address until `demo --down` releases it.
    if (opts.detached) transferLoopback(address, 1, poolDir);
    return {
      clientUrl: proc.clientUrl,
      address,
      pidFile: paths.pidFile,
      process: proc,
      stop: async () => {
        await proc.stop(10_000);
        releaseLoopback(address, poolDir);
      },
    };
  } catch (err) {
    releaseLoopback(address, poolDir);
    throw err;
  }
}

/**
 * An address from the machine-wide pool. A user who is not root may not write to the
 * pool root created (the sim fallback runs as such a user): then a pool of the user's
 * own, which is unique among that user's processes only.
 */
function reserveAddress(): { address: string; poolDir: string } {
  try {
    return { address: reserveLoopback({ block: DEMO_MGMT_BLOCK }), poolDir: DEFAULT_POOL_DIR };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
    const poolDir = `${DEFAULT_POOL_DIR}-uid${process.getuid?.() ?? 'x'}`;
    return { address: reserveLoopback({ block: DEMO_MGMT_BLOCK, dir: poolDir }), poolDir };
  }
}

/** Stops a kept demo's management etcd by its pid file and releases its address. */
export async function stopKeptManagementEtcd(dir: string, address: string | undefined): Promise<boolean> {
  const stopped = await stopEtcdByPidFile(managementEtcdPaths(dir).pidFile);
  if (address) releaseLoopback(address);
  return stopped;
}
