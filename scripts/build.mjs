// `npm run build`: compiles src/ to dist/ (tsconfig.build.json), bundles the node agent's
// entry, and stamps the build with the time it started, which
// scripts/build-freshness.mjs compares with the sources' mtimes.
// --if-stale (scripts/setup.sh): only when a source changed since the last build.
import { spawnSync } from 'node:child_process';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILD_STAMP, compiledIsCurrent } from './build-freshness.mjs';

if (process.argv.includes('--if-stale') && compiledIsCurrent()) process.exit(0);
const started = new Date();
const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
  stdio: 'inherit',
  cwd: new URL('..', import.meta.url),
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
await bundleNodeAgent();
mkdirSync(dirname(BUILD_STAMP), { recursive: true });
writeFileSync(BUILD_STAMP, `${started.toISOString()}\n`);
utimesSync(BUILD_STAMP, started, started);

/**
 * The node agent's entry (src/cli/node-main.ts) as one file, written over tsc's output
 * for it. Every node starts an agent, and most of an agent's start-up was Node resolving
 * and loading a few hundred module files: 0.55 s of CPU against 0.30 s for the bundle,
 * measured alone; on two cores with three agents and three dockerds booting at once
 * that is the founder's etcd starting later. etcd3 stays outside (it reads its .proto
 * files next to its own code), as do docker-modem's optional native ssh modules.
 */
async function bundleNodeAgent() {
  const { build } = await import('esbuild');
  await build({
    entryPoints: [fileURLToPath(new URL('../src/cli/node-main.ts', import.meta.url))],
    outfile: fileURLToPath(new URL('../dist/cli/node-main.js', import.meta.url)),
    allowOverwrite: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    external: ['etcd3', 'ssh2', 'cpu-features'],
    // CommonJS dependencies call require(): give the ES module bundle one.
    banner: { js: "import { createRequire as __skCreateRequire } from 'node:module'; const require = __skCreateRequire(import.meta.url);" },
    logLevel: 'warning',
  });
}
