// Loads a CLI entry point from one known build: the compiled one in dist/ (made by
// `npm run build`, by scripts/setup.sh, or baked into the container image), or the
// TypeScript sources through tsx when there is no dist/ or SWARMKEEPER_FROM_SOURCES=1
// asks for them. The bins do not check whether dist/ is current (that check walked every
// source file on each call): setup rebuilds a stale dist/, and the test runner sets
// SWARMKEEPER_FROM_SOURCES when dist/ is older than the sources it tests. After editing
// a source outside those, run `npm run build` (or set SWARMKEEPER_FROM_SOURCES=1).
// `entry` is a path under src/ without extension, e.g. 'cli/main'.
//
// Compiled matters for more than start-up polish: the local provider spawns one agent
// per node, and tsx's per-file transform made each agent take about 0.2 s more CPU to
// load (0.67 s against 0.45 s alone), which on two cores with six nodes booting
// delayed the first etcd by about half a second (bench/converge.ts --trace shows it).
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

// V8's code cache for the modules loaded from here on, kept on disk by Node (in the
// system temp dir, keyed by file content): a later start of the same build skips most
// compiling, about 0.1 s of CPU per node agent, each node starting one.
module.enableCompileCache?.();

const root = new URL('../', import.meta.url);

export async function loadEntry(entry) {
  const compiled = fileURLToPath(new URL(`dist/${entry}.js`, root));
  if (process.env.SWARMKEEPER_FROM_SOURCES !== '1' && existsSync(compiled)) {
    await import(compiled);
    return;
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL(`src/${entry}.ts`, root).href);
}
