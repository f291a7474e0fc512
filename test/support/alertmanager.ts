// A real Alertmanager (Debian `prometheus-alertmanager`) for integration tests, on a
// loopback address of its own from the machine-wide pool, with a temp config and
// storage dir, clustering off (its default gossip port would bind 0.0.0.0:9094), and
// one webhook receiver pointing at our server with the bearer token. Timers are short
// (group_wait 1s, group_interval 1s) so a firing alert and its resolution arrive within
// seconds. Always stopped: stop() kills the process group, a process 'exit' hook does
// the same if the test run dies first.
//
// Also exports startDaemon(), the spawn/wait/kill helper prometheus.ts uses too.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Etcd3 } from 'etcd3';
import type { NodeDirectory } from '../../src/heal/alert-intake.ts';
import { EtcdMarkStore } from '../../src/store/mark-store.ts';
import { createMetrics, type Metrics } from '../../src/http/metrics.ts';
import { buildServer, listenServer } from '../../src/http/server.ts';
import { silentLogger, type Logger } from '../../src/log.ts';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import { freePort } from './net.ts';

/** Second octet of the addresses the alerting tests use (127.47.x.y). */
export const ALERTING_TEST_BLOCK = 47;

export interface AlertmanagerOptions {
  /** Where Alertmanager posts: our /v1/alerts URL. */
  readonly webhookUrl: string;
  readonly webhookToken: string;
  /** Labels alerts are grouped by (one notification per group); default one per node. */
  readonly groupBy?: readonly string[];
}

export interface TestAlert {
  readonly labels: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly startsAt?: string;
  /** In the past: the alert is resolved. */
  readonly endsAt?: string;
}

export interface AlertmanagerProcess {
  readonly url: string;
  readonly pid: number;
  /** POST /api/v2/alerts (what Prometheus does). */
  postAlerts(alerts: readonly TestAlert[]): Promise<void>;
  /** Logs so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

export async function startAlertmanager(opts: AlertmanagerOptions): Promise<AlertmanagerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'sk-am-'));
  const config = {
    route: {
      receiver: 'swarmkeeper',
      group_by: opts.groupBy ?? ['swarmkeeper_cluster', 'instance_id', 'alertname'],
      group_wait: '1s',
      group_interval: '1s',
      repeat_interval: '1h',
    },
    receivers: [
      {
        name: 'swarmkeeper',
        webhook_configs: [
          {
            url: opts.webhookUrl,
            send_resolved: true,
            max_alerts: 0,
            http_config: { authorization: { type: 'Bearer', credentials: opts.webhookToken } },
          },
        ],
      },
    ],
  };
  writeFileSync(join(dir, 'alertmanager.yml'), stringify(config), { mode: 0o600 });
  const daemon = await startDaemon({
    name: 'alertmanager',
    command: process.env.SWARMKEEPER_ALERTMANAGER ?? 'prometheus-alertmanager',
    args: (address, port) => [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=${address}:${port}`,
      '--cluster.listen-address=',
      '--log.level=debug',
    ],
    readyPath: '/-/ready',
    onStopped: () => rmSync(dir, { recursive: true, force: true }),
  });
  return {
    url: daemon.url,
    pid: daemon.pid,
    output: daemon.output,
    stop: daemon.stop,
    async postAlerts(alerts) {
      const res = await fetch(`${daemon.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
      });
      if (!res.ok) throw new Error(`posting alerts to Alertmanager: HTTP ${res.status} ${await res.text()}`);
    },
  };
}

export interface AlertWebhook {
  /** http://<address>:<port> of the server. */
  readonly baseUrl: string;
  /** http://<address>:<port>/v1/alerts */
  readonly url: string;
  readonly token: string;
  readonly marks: EtcdMarkStore;
  readonly metrics: Metrics;
  /** POSTs an Alertmanager payload straight to the webhook (no Alertmanager in between). */
  post(alerts: readonly { status: 'firing' | 'resolved'; labels: Record<string, string>; startsAt?: string }[]): Promise<Response>;
  stop(): Promise<void>;
}

/** Our webhook (buildServer) on a pool address, writing marks to the given etcd. */
export async function startAlertWebhook(opts: {
  client: Etcd3;
  prefix: string;
  directory: NodeDirectory;
  token?: string;
  logger?: Logger;
  bodyLimitBytes?: number;
}): Promise<AlertWebhook> {
  const token = opts.token ?? 'e2e-webhook-token-0123456789abcdef';
  const marks = new EtcdMarkStore(opts.client, { prefix: opts.prefix });
  const metrics = createMetrics({ processMetrics: false });
  const app = await buildServer({
    logger: opts.logger ?? silentLogger(),
    metrics,
    readiness: { etcd: async () => true, isLeader: () => false },
    alerts: {
      webhookToken: token,
      marks,
      directory: opts.directory,
      ...(opts.bodyLimitBytes === undefined ? {} : { bodyLimitBytes: opts.bodyLimitBytes }),
    },
  });
  const address = reserveLoopback({ block: ALERTING_TEST_BLOCK });
  try {
    const baseUrl = await listenServer(app, { host: address });
    const url = `${baseUrl}/v1/alerts`;
    return {
      baseUrl,
      url,
      token,
      marks,
      metrics,
      post: (alerts) =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ version: '4', status: alerts[0]?.status ?? 'firing', receiver: 'swarmkeeper', alerts }),
        }),
      async stop() {
        await app.close();
        releaseLoopback(address);
      },
    };
  } catch (err) {
    await app.close();
    releaseLoopback(address);
    throw err;
  }
}

export interface DaemonSpec {
  readonly name: string;
  readonly command: string;
  readonly args: (address: string, port: number) => string[];
  /** GET path that answers 200 once the daemon is up. */
  readonly readyPath: string;
  readonly startTimeoutMs?: number;
  readonly onStopped?: () => void;
}

export interface Daemon {
  readonly url: string;
  readonly address: string;
  readonly pid: number;
  output(): string;
  stop(): Promise<void>;
}

/** Spawns an HTTP daemon on a pool address in its own process group and waits until it answers. */
export async function startDaemon(spec: DaemonSpec): Promise<Daemon> {
  const address = reserveLoopback({ block: ALERTING_TEST_BLOCK });
  let child: ChildProcess | undefined;
  let output = '';
  const killGroup = (): void => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  const cleanUp = (): void => {
    killGroup();
    releaseLoopback(address);
    spec.onStopped?.();
  };
  process.once('exit', cleanUp);
  try {
    const port = await freePort(address);
    const url = `http://${address}:${port}`;
    child = spawn(spec.command, spec.args(address, port), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer): void => {
      output = (output + b.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const proc = child;
    await waitUntilReady(`${url}${spec.readyPath}`, proc, spec.startTimeoutMs ?? 60_000, () => `${spec.name}: ${output.slice(-3000)}`);
    return {
      url,
      address,
      pid: proc.pid ?? -1,
      output: () => output,
      async stop() {
        process.removeListener('exit', cleanUp);
        if (proc.exitCode === null && proc.signalCode === null) {
          const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
          try {
            process.kill(-(proc.pid as number), 'SIGTERM');
          } catch {
            // already gone
          }
          const timer = setTimeout(killGroup, 5_000);
          await exited;
          clearTimeout(timer);
        }
        releaseLoopback(address);
        spec.onStopped?.();
      },
    };
  } catch (err) {
    process.removeListener('exit', cleanUp);
    cleanUp();
    throw err;
  }
}

async function waitUntilReady(url: string, child: ChildProcess, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before it was ready: ${output()}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`not ready at ${url} within ${timeoutMs} ms: ${output()}`);
}
