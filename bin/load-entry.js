// Loads a CLI entry point: the compiled one in dist/ when it exists (the container
// image), else the TypeScript source through tsx (a checkout), so the bins work without
// a build step. `entry` is a path under src/ without extension, e.g. 'cli/main'.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export async function loadEntry(entry) {
  const compiled = fileURLToPath(new URL(`../dist/${entry}.js`, import.meta.url));
  if (existsSync(compiled)) {
    await import(compiled);
    return;
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL(`../src/${entry}.ts`, import.meta.url).href);
}
