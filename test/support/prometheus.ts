// A real Prometheus (Debian `prometheus`) for integration tests, on a loopback address
// of its own, scraping the given targets every second, with its TSDB in a temp dir.
// query() and metricNames() use its HTTP API. Always stopped (see startDaemon()).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startDaemon } from './alertmanager.ts';

export interface PrometheusOptions {
  /** host:port pairs serving /metrics. */
  readonly targets: readonly string[];
  readonly scrapeIntervalSeconds?: number;
}

export interface ScrapeTarget {
  readonly scrapeUrl: string;
  readonly health: 'up' | 'down' | 'unknown';
  readonly lastError: string;
}

export interface PrometheusProcess {
  readonly url: string;
  readonly pid: number;
  targets(): Promise<ScrapeTarget[]>;
  /** Every metric name Prometheus has stored. */
  metricNames(): Promise<string[]>;
  /** Instant query; returns the result vector. */
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  output(): string;
  stop(): Promise<void>;
}

export async function startPrometheus(opts: PrometheusOptions): Promise<PrometheusProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'sk-prom-'));
  const interval = `${opts.scrapeIntervalSeconds ?? 1}s`;
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval },
    scrape_configs: [
      { job_name: 'swarmkeeper', scrape_interval: interval, scrape_timeout: interval, static_configs: [{ targets: [...opts.targets] }] },
    ],
  };
  writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
  const daemon = await startDaemon({
    name: 'prometheus',
    command: process.env.SWARMKEEPER_PROMETHEUS ?? 'prometheus',
    args: (address, port) => [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=${address}:${port}`,
      '--log.level=warn',
    ],
    readyPath: '/-/ready',
    onStopped: () => rmSync(dir, { recursive: true, force: true }),
  });
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${daemon.url}${path}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (!res.ok || body.status !== 'success') throw new Error(`Prometheus ${path}: HTTP ${res.status} ${body.error ?? ''}`);
    return body.data;
  };
  return {
    url: daemon.url,
    pid: daemon.pid,
    output: daemon.output,
    stop: daemon.stop,
    async targets() {
      const data = await api<{ activeTargets: ScrapeTarget[] }>('/api/v1/targets');
      return data.activeTargets;
    },
    metricNames: () => api<string[]>('/api/v1/label/__name__/values'),
    async query(expr) {
      const data = await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(
        `/api/v1/query?query=${encodeURIComponent(expr)}`,
      );
      return data.result;
    },
  };
}
