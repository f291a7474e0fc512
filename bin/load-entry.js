// Loads a CLI entry point: the compiled one in dist/ when it is up to date with the
// sources (the container image has no sources; a checkout has it after `npm run build`
// or scripts/setup.sh), else the TypeScript source through tsx, so the bins work without
// a build step and an edit is never shadowed by an older build. `entry` is a path under
// src/ without extension, e.g. 'cli/main'.
//
// Compiled matters for more than start-up polish: the local provider spawns one agent
// per node, and tsx's per-file transform made each agent take about 0.2 s more CPU to
// load (0.67 s against 0.45 s alone), which on two cores with six nodes booting
// delayed the first etcd by about half a second (bench/converge.ts --trace shows it).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
/** Written by scripts/build.mjs with the time the build started. */
export const BUILD_STAMP = fileURLToPath(new URL('dist/.build-stamp', root));
const SOURCES = fileURLToPath(new URL('src/', root));

export async function loadEntry(entry) {
  const compiled = fileURLToPath(new URL(`dist/${entry}.js`, root));
  if (existsSync(compiled) && compiledIsCurrent()) {
    await import(compiled);
    return;
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL(`src/${entry}.ts`, root).href);
}

/** dist/ was built after the last change under src/ (or there are no sources). */
export function compiledIsCurrent() {
  if (!existsSync(SOURCES)) return true;
  if (!existsSync(BUILD_STAMP)) return false;
  return newestSourceMtimeMs() <= statSync(BUILD_STAMP).mtimeMs;
}

function newestSourceMtimeMs() {
  let newest = 0;
  for (const e of readdirSync(SOURCES, { recursive: true, withFileTypes: true })) {
    // Tests are not compiled into dist/: editing one does not make the build stale.
    if (!e.isFile() || !e.name.endsWith('.ts') || e.name.endsWith('.test.ts')) continue;
    const m = statSync(`${e.parentPath ?? e.path}/${e.name}`).mtimeMs;
    if (m > newest) newest = m;
  }
  return newest;
}
