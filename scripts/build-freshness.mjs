// Whether dist/ holds a build of the current sources: dist/.build-stamp (written by
// scripts/build.mjs with the time the build started) is newer than every production
// source under src/. Asked once per setup (build.mjs --if-stale) and once per test run
// (test/support/build-or-sources.ts), never by the bins themselves.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
/** Written by scripts/build.mjs with the time the build started. */
export const BUILD_STAMP = fileURLToPath(new URL('dist/.build-stamp', root));
const SOURCES = fileURLToPath(new URL('src/', root));

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
