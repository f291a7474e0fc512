#!/usr/bin/env node
// The node agent's own entry (`swarmkeeper-node [global options] node bootstrap ...`):
// the compiled one when built, else the TypeScript sources through tsx, like
// bin/swarmkeeper.js, but loading only what the agent needs.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/cli/node-main.js', import.meta.url));
if (existsSync(compiled)) {
  await import(compiled);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/node-main.ts');
}
