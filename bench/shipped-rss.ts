// The resident size of the controller we ship (dist/), per configuration, each in a fresh
// Node process: the `run` command's modules (controller, local provider, etcd client,
// Docker client, HTTP server, metrics), plus what the configuration loads when it is
// used. The ec2 and S3 clients and the Kubernetes client each make one real call, to a
// loopback port that refuses it (127.0.0.1:1), so the parts an SDK loads at its first
// request (credential chain, signer, retry strategy, HTTP handler) are counted too. The
// ec2 figure includes the Docker CA's x509 library, which a controller loads when one of
// its clusters uses docker TLS (it signs its managers' certificates).
// What is not in these figures: the reconcile cycle's working heap (bench/scale.ts
// measures it in the sim: add its per-cycle peak), open connections' buffers, and the
// HTTP server under load.
//   npx tsx bench/shipped-rss.ts   (with the image's V8 flags; RSS_NODE_FLAGS='' runs without them)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SHIPPED_CONFIGURATIONS = ['local', 'ec2', 'ec2 + S3 backups', 'kubernetes source'] as const;
export type ShippedConfiguration = (typeof SHIPPED_CONFIGURATIONS)[number];

export interface ShippedRss {
  readonly configuration: ShippedConfiguration;
  /** RSS once the configuration's modules are loaded and used once (MB). */
  readonly rssMb: number;
  /** The same after a full garbage collection (MB). */
  readonly afterGcMb: number;
  /** The process's peak RSS (MB). */
  readonly peakMb: number;
}

const REFUSED = 'http://127.0.0.1:1';
/** The V8 flags manifests/Dockerfile starts the controller with. */
const IMAGE_NODE_FLAGS = '--max-semi-space-size=2';

// Plain JavaScript run by `node --expose-gc` in the repository root, on dist/ only.
const USE: Record<ShippedConfiguration, string> = {
  local: '',
  ec2: `
    const { providerForSpec } = await import('./dist/controller/providers.js');
    const { resolveSpec } = await import('./dist/spec/defaults.js');
    const spec = resolveSpec('rss', 1, { managers: { count: 3 }, workers: { count: 0 },
      provider: { ec2: { region: 'eu-west-1', endpoint: '${REFUSED}', imageId: 'ami-0123456789abcdef0',
        subnetIds: ['subnet-0123456789abcdef0'], securityGroupIds: ['sg-0123456789abcdef0'] } } });
    const { silentLogger } = await import('./dist/log.js');
    const provider = providerForSpec(spec, { logger: silentLogger() });
    await provider.list('rss').catch(() => undefined);
    await import('./dist/providers/ec2/docker-ca.js');`,
  'ec2 + S3 backups': '',
  'kubernetes source': `
    const { loadKubeConfig } = await import('./dist/kube/kube-config.js');
    const { swarmClusterApi } = await import('./dist/kube/swarmcluster-api.js');
    const api = swarmClusterApi(loadKubeConfig(process.env.RSS_KUBECONFIG));
    await api.list().catch(() => undefined);`,
};
USE['ec2 + S3 backups'] = `${USE.ec2}
    const { openBackupStore } = await import('./dist/backup/store-for-spec.js');
    await openBackupStore({ s3: { bucket: 'rss', endpoint: '${REFUSED}' } }).list('rss/').catch(() => undefined);`;

function script(configuration: ShippedConfiguration): string {
  return `
    await import('./dist/cli/program.js');
    await import('./dist/cli/commands/run.js');
    ${USE[configuration]}
    const mb = (n) => Math.round(n / 1048576);
    const rss = process.memoryUsage().rss;
    globalThis.gc();
    const status = (await import('node:fs')).readFileSync('/proc/self/status', 'utf8');
    const peak = Number(/VmHWM:\\s+(\\d+)/.exec(status)?.[1] ?? 0) * 1024;
    process.stdout.write(JSON.stringify({ rssMb: mb(rss), afterGcMb: mb(process.memoryUsage().rss), peakMb: mb(peak) }));`;
}

/** Measures every configuration; throws when dist/ is missing (run `npm run build`). */
export function measureShippedRss(): ShippedRss[] {
  const dir = mkdtempSync(join(tmpdir(), 'sk-rss-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]',
      'users: [{name: u, user: {token: bench}}]',
      'contexts: [{name: x, context: {cluster: c, user: u}}]',
      'current-context: x',
      '',
    ].join('\n'),
  );
  try {
    return SHIPPED_CONFIGURATIONS.map((configuration) => {
      const out = execFileSync(
        process.execPath,
        [
          ...(process.env.RSS_NODE_FLAGS ?? IMAGE_NODE_FLAGS).split(' ').filter(Boolean),
          '--expose-gc',
          '--input-type=module',
          '-e',
          script(configuration),
        ],
        {
          encoding: 'utf8',
          env: { ...process.env, RSS_KUBECONFIG: kubeconfig, AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench' },
        },
      );
      return { configuration, ...(JSON.parse(out) as Omit<ShippedRss, 'configuration'>) };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of measureShippedRss())
    process.stdout.write(`${r.configuration}: RSS ${r.rssMb} MB, ${r.afterGcMb} MB after GC, peak ${r.peakMb} MB\n`);
}
