// The alert webhook as the alert tests need it: a real etcd holding the marks, the
// HTTP server listening on its own loopback address with a bearer token, and a fixed
// node directory. stop() undoes all of it, also after a start that failed half-way.
import type { Etcd3 } from 'etcd3';
import type { FastifyInstance } from 'fastify';
import { EtcdMarkStore } from '../../src/heal/mark-store.ts';
import { staticNodeDirectory } from '../../src/heal/node-directory.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { buildServer, listenServer } from '../../src/http/server.ts';
import { silentLogger } from '../../src/log.ts';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import type { Instance } from '../../src/observe/snapshot.ts';
import { ALERTING_TEST_BLOCK } from './alertmanager.ts';
import { startEtcdCluster, type EtcdTestCluster } from './etcd.ts';

export interface AlertIntake {
  readonly client: Etcd3;
  readonly store: EtcdMarkStore;
  /** http://<address>:<port> of the server; the webhook is at `${baseUrl}/v1/alerts`. */
  readonly baseUrl: string;
  stop(): Promise<void>;
}

export interface AlertIntakeOptions {
  readonly prefix: string;
  readonly token: string;
  readonly clusters: Parameters<typeof staticNodeDirectory>[0];
  readonly bodyLimitBytes?: number;
}

export async function startAlertIntake(opts: AlertIntakeOptions): Promise<AlertIntake> {
  let etcd: EtcdTestCluster | undefined;
  let client: Etcd3 | undefined;
  let app: FastifyInstance | undefined;
  let address: string | undefined;
  const stop = async (): Promise<void> => {
    await app?.close();
    client?.close();
    await etcd?.stop();
    if (address) releaseLoopback(address);
  };
  try {
    etcd = await startEtcdCluster({ size: 1 });
    client = etcd.client();
    const store = new EtcdMarkStore(client, { prefix: opts.prefix });
    app = await buildServer({
      logger: silentLogger(),
      metrics: createMetrics({ processMetrics: false }),
      readiness: { etcd: async () => true, isLeader: () => false },
      alerts: {
        webhookToken: opts.token,
        marks: store,
        directory: staticNodeDirectory(opts.clusters),
        ...(opts.bodyLimitBytes === undefined ? {} : { bodyLimitBytes: opts.bodyLimitBytes }),
      },
    });
    address = reserveLoopback({ block: ALERTING_TEST_BLOCK });
    const baseUrl = await listenServer(app, { host: address });
    return { client, store, baseUrl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A running worker instance at `address`, launched a minute ago. */
export function aWorkerInstance(id: string, address: string): Instance {
  return { id, role: 'worker', state: 'running', launchedAt: Date.now() - 60_000, address, configHash: 'h', tags: {} };
}
