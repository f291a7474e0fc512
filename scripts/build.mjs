// `npm run build`: compiles src/ to dist/ (tsconfig.build.json) and stamps the build with
// the time it started, which scripts/build-freshness.mjs compares with the sources' mtimes.
// --if-stale (scripts/setup.sh): only when a source changed since the last build.
import { spawnSync } from 'node:child_process';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { BUILD_STAMP, compiledIsCurrent } from './build-freshness.mjs';

if (process.argv.includes('--if-stale') && compiledIsCurrent()) process.exit(0);
const started = new Date();
const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
  stdio: 'inherit',
  cwd: new URL('..', import.meta.url),
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
mkdirSync(dirname(BUILD_STAMP), { recursive: true });
writeFileSync(BUILD_STAMP, `${started.toISOString()}\n`);
utimesSync(BUILD_STAMP, started, started);
