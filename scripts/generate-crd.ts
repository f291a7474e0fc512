// Writes crds/swarmcluster.yaml from the TypeBox schema (src/spec/crd.ts). Run after
// changing src/spec/schema.ts or src/spec/rules.ts: `npm run generate:crd`.
// src/spec/crd.test.ts fails while the committed file is stale.
import { writeFileSync } from 'node:fs';
import { renderCrdYaml } from '../src/spec/crd.ts';

const target = new URL('../crds/swarmcluster.yaml', import.meta.url);
writeFileSync(target, renderCrdYaml());
process.stdout.write(`Wrote ${target.pathname}\n`);
