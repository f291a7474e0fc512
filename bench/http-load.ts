// HTTP load on the controller's server, all on loopback, against a real management etcd:
//
//   npx tsx --expose-gc bench/http-load.ts [--quick]
//
// 1. Valid alerts (firing, for a known cluster and node: a mark written to etcd each time)
//    at 16 and 200 concurrent clients: throughput, p50/p99 latency. The rate limit stays
//    at its default (600/min per source), so each client sends from a loopback source
//    address of its own and stays under it; then 16 clients from ONE source show what
//    the limiter lets through and what refusing the rest costs.
// 2. RSS and heap before and after (after a warm-up of 5,000) 50,000 alert requests naming 50,000 different clusters
//    (each an etcd read and a 404): the node directory keeps at most 64 clusters, so the
//    heap must not grow with the names (cap below; the process holds the clients too).
// 3. /healthz latency of a real `swarmkeeper run` process while a hostile spec (1 MB, and
//    a 500 KB one under the size limit but over the map limit) sits under its spec key.
//
// Part 1 and 2 build the server as `swarmkeeper run` does (buildServer, the etcd mark
// store, createNodeDirectory over the cluster store); only the instance list is fixed,
// as the provider is not what is measured. --quick divides the request counts by 10.
import { parseArgs } from 'node:util';
import { Client } from 'undici';
import { createNodeDirectory } from '../src/heal/node-directory.ts';
import { EtcdMarkStore } from '../src/store/mark-store.ts';
import { createMetrics } from '../src/http/metrics.ts';
import { buildServer, listenServer } from '../src/http/server.ts';
import { silentLogger } from '../src/log.ts';
import { releaseLoopback, reserveLoopback } from '../src/net/loopback-pool.ts';
import { EtcdClusterStore } from '../src/store/etcd-store.ts';
import { clusterKeys } from '../src/store/keys.ts';
import { aWorkerInstance } from '../test/support/alert-intake.ts';
import { ALERTING_TEST_BLOCK } from '../test/support/alertmanager.ts';
import { startEtcdCluster } from '../test/support/etcd.ts';
import { aSwarmCluster } from '../test/support/spec-fixtures.ts';
import { startSwarmkeeperRun } from '../test/support/swarmkeeper-run.ts';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const scale = values.quick ? 10 : 1;
const PREFIX = '/sk-bench-http';
const TOKEN = 'bench-webhook-token-0123456789abcdef';
/** Growth allowed over 50,000 unique-cluster requests. */
const HEAP_CAP_MB = 16;
const RSS_CAP_MB = 64;
/** No phase runs longer than this, whatever its request count. */
const PHASE_LIMIT_MS = 240_000;

interface Result {
  readonly count: number;
  readonly seconds: number;
  readonly latencies: number[];
  readonly statuses: Map<number, number>;
}

/** Each client sends `perClient` requests one after another; all clients at once. */
async function load(clients: readonly Client[], perClient: number, body: (client: number, i: number) => string): Promise<Result> {
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const started = performance.now();
  await Promise.all(
    clients.map(async (client, c) => {
      for (let i = 0; i < perClient && performance.now() - started < PHASE_LIMIT_MS; i++) {
        const t = performance.now();
        const res = await client.request({
          method: 'POST',
          path: '/v1/alerts',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
          body: body(c, i),
        });
        await res.body.dump();
        latencies.push(performance.now() - t);
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      }
    }),
  );
  return { count: latencies.length, seconds: (performance.now() - started) / 1000, latencies, statuses };
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

function describe(label: string, r: Result): string {
  const sorted = [...r.latencies].sort((a, b) => a - b);
  const codes = [...r.statuses].map(([code, n]) => `${code}×${n}`).join(' ');
  return `${label}: ${r.count} requests in ${r.seconds.toFixed(1)} s = ${(r.count / r.seconds).toFixed(0)} req/s, p50 ${quantile(sorted, 0.5).toFixed(1)} ms, p99 ${quantile(sorted, 0.99).toFixed(1)} ms (${codes})`;
}

const payload = (cluster: string, instance: string): string =>
  JSON.stringify({
    version: '4',
    status: 'firing',
    receiver: 'swarmkeeper',
    alerts: [{ status: 'firing', labels: { alertname: 'NodeDown', cluster, instance_id: instance } }],
  });

const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);

function memory(): NodeJS.MemoryUsage {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage();
}

/** /healthz answered over `ms`, one request every 10 ms. */
async function sampleHealth(base: string, ms: number): Promise<string> {
  const client = new Client(base);
  const samples: number[] = [];
  const until = performance.now() + ms;
  try {
    while (performance.now() < until) {
      const t = performance.now();
      const res = await client.request({ method: 'GET', path: '/healthz' });
      await res.body.dump();
      samples.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    await client.close();
  }
  const s = samples.sort((a, b) => a - b);
  return `${s.length} samples, p50 ${quantile(s, 0.5).toFixed(1)} ms, p99 ${quantile(s, 0.99).toFixed(1)} ms, max ${quantile(s, 1).toFixed(1)} ms`;
}

/** A spec of about `bytes` with one label per line: the shape that once stalled the controller. */
function labelledSpec(bytes: number): string {
  const lines = ['apiVersion: swarmkeeper.dev/v1alpha1', 'kind: SwarmCluster', 'metadata:', '  name: prod', '  labels:'];
  let size = lines.join('\n').length;
  for (let i = 0; size < bytes; i++) {
    const line = `    label-${i}: value-${i}`;
    lines.push(line);
    size += line.length + 1;
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const addresses: string[] = [];
  const clients: Client[] = [];
  const etcd = await startEtcdCluster({ size: 1 });
  const client = etcd.client();
  try {
    const store = new EtcdClusterStore(client, { prefix: PREFIX, ownsClient: false });
    await store.apply(aSwarmCluster({ name: 'prod' }));
    const app = await buildServer({
      logger: silentLogger(),
      metrics: createMetrics({ processMetrics: false }),
      readiness: { etcd: async () => true, isLeader: () => true },
      alerts: {
        webhookToken: TOKEN,
        marks: new EtcdMarkStore(client, { prefix: PREFIX }),
        directory: createNodeDirectory({
          clusterExists: async (name) => (await store.get(name)) !== undefined,
          listInstances: async () => Array.from({ length: 200 }, (_, i) => aWorkerInstance(`i-${i}`, `127.0.0.${i + 1}`)),
        }),
      },
    });
    const serverAddress = reserveLoopback({ block: ALERTING_TEST_BLOCK });
    addresses.push(serverAddress);
    try {
      const base = await listenServer(app, { host: serverAddress });
      const clientFrom = (): Client => {
        const localAddress = reserveLoopback({ block: ALERTING_TEST_BLOCK });
        addresses.push(localAddress);
        const c = new Client(base, { localAddress });
        clients.push(c);
        return c;
      };
      console.log(
        `load average ${(await import('node:os'))
          .loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}; server ${base}, etcd ${etcd.endpoints.join(',')}`,
      );
      console.log(
        '\n1. Valid alerts (firing, known cluster and node; one mark write each), default limit 600/min per source, one source per client:',
      );
      const sixteen = Array.from({ length: 16 }, clientFrom);
      console.log(
        '  ' + describe('16 clients', await load(sixteen, Math.ceil(400 / scale), (c, i) => payload('prod', `i-${(c * 7 + i) % 200}`))),
      );
      const twoHundred = Array.from({ length: 200 }, clientFrom);
      console.log(
        '  ' + describe('200 clients', await load(twoHundred, Math.ceil(40 / scale), (c, i) => payload('prod', `i-${(c + i) % 200}`))),
      );

      console.log('  16 clients from ONE source address (what the limiter lets through, and what refusing costs):');
      const oneSource = reserveLoopback({ block: ALERTING_TEST_BLOCK });
      addresses.push(oneSource);
      const shared = Array.from({ length: 16 }, () => {
        const c = new Client(base, { localAddress: oneSource });
        clients.push(c);
        return c;
      });
      const one = await load(shared, Math.ceil(250 / scale), (c, i) => payload('prod', `i-${(c + i) % 200}`));
      console.log('    ' + describe('first burst (600 a minute let through, the rest 429)', one));
      // Then the source is over its limit for the rest of the minute: every answer a 429.
      const refusals = await load(shared, Math.ceil(250 / scale), (c, i) => payload('prod', `i-${(c + i) % 200}`));
      console.log('    ' + describe('over the limit (refused)', refusals));

      console.log(`\n2. Memory over ${50_000 / scale} alert requests naming as many different clusters (200 clients, one source each):`);
      // Warm-up first (sockets, etcd client, allocator arenas), so the figure is growth per name.
      await load(twoHundred, Math.ceil(25 / scale), (c, i) => payload(`warm-${c}-${i}`, 'i-0'));
      const before = memory();
      const unique = await load(twoHundred, Math.ceil(250 / scale), (c, i) => payload(`bench-${c}-${i}`, 'i-0'));
      const after = memory();
      console.log('  ' + describe('unique clusters', unique));
      const heapGrowth = (after.heapUsed - before.heapUsed) / 2 ** 20;
      const rssGrowth = (after.rss - before.rss) / 2 ** 20;
      const gc = typeof (globalThis as { gc?: unknown }).gc === 'function' ? 'after a full GC' : 'no --expose-gc: without a GC';
      console.log(
        `  RSS ${mb(before.rss)} -> ${mb(after.rss)} MB (+${rssGrowth.toFixed(1)}, cap ${RSS_CAP_MB}); heap used ${mb(before.heapUsed)} -> ${mb(after.heapUsed)} MB (+${heapGrowth.toFixed(1)}, cap ${HEAP_CAP_MB}); external ${mb(before.external)} -> ${mb(after.external)} MB; ${gc}; the process holds the server and the 200 clients`,
      );
      const withinCap = heapGrowth <= HEAP_CAP_MB && rssGrowth <= RSS_CAP_MB;
      console.log(`  within cap: ${withinCap ? 'yes' : 'NO'}`);
      if (!withinCap) process.exitCode = 1;
    } finally {
      await app.close();
    }

    console.log('\n3. /healthz of a real `swarmkeeper run` (reconciling every cluster under the prefix) with a hostile spec in etcd:');
    const runAddress = reserveLoopback({ block: ALERTING_TEST_BLOCK });
    addresses.push(runAddress);
    const run = await startSwarmkeeperRun({
      etcdEndpoints: etcd.endpoints,
      prefix: PREFIX,
      listen: `${runAddress}:0`,
      args: ['--identity', 'bench-http-load'],
    });
    try {
      const seconds = Math.max(3, 10 / scale);
      console.log(`  no hostile spec: ${await sampleHealth(run.baseUrl, seconds * 1000)}`);
      const key = clusterKeys(PREFIX, 'prod').spec;
      for (const [label, text] of [
        ['1 MB spec (41k labels: over the 512 KiB text limit)', labelledSpec(2 ** 20)],
        ['500 KB spec (20k labels: under the text limit, over the 256-entry map limit)', labelledSpec(500_000)],
      ] as const) {
        await client.put(key).value(text);
        console.log(`  ${label}: ${await sampleHealth(run.baseUrl, seconds * 1000)}`);
      }
      const status = await client.get(clusterKeys(PREFIX, 'prod').status).string();
      const refusal = /limit [A-Za-z]+ \d+|larger than [^"]+/.exec(status ?? '')?.[0];
      console.log(`  the controller's status says: ${refusal ?? '(no limit named in status)'}`);
    } finally {
      run.stop();
    }
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    client.close();
    await etcd.stop();
    for (const a of addresses) releaseLoopback(a);
  }
}

await main();
