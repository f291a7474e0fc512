// The alert webhook as the alert tests need it: a real etcd holding the marks, and the
// webhook server (startAlertWebhook) with a bearer token and a fixed node directory.
// stop() undoes all of it, also after a start that failed half-way.
import type { Etcd3 } from 'etcd3';
import { staticNodeDirectory } from '../../src/heal/node-directory.ts';
import type { Instance } from '../../src/model/snapshot.ts';
import { startAlertWebhook, type AlertWebhook } from './alertmanager.ts';
import { startEtcdCluster, type EtcdTestCluster } from './etcd.ts';

export interface AlertIntake {
  readonly client: Etcd3;
  readonly store: AlertWebhook['marks'];
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
  let hook: AlertWebhook | undefined;
  const stop = async (): Promise<void> => {
    await hook?.stop();
    client?.close();
    await etcd?.stop();
  };
  try {
    etcd = await startEtcdCluster({ size: 1 });
    client = etcd.client();
    hook = await startAlertWebhook({
      client,
      prefix: opts.prefix,
      token: opts.token,
      directory: staticNodeDirectory(opts.clusters),
      ...(opts.bodyLimitBytes === undefined ? {} : { bodyLimitBytes: opts.bodyLimitBytes }),
    });
    return { client, store: hook.marks, baseUrl: hook.baseUrl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A running worker instance at `address`, launched a minute ago. */
export function aWorkerInstance(id: string, address: string): Instance {
  return { id, role: 'worker', state: 'running', launchedAt: Date.now() - 60_000, address, configHash: 'h', tags: {} };
}
