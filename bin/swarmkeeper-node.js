#!/usr/bin/env node
// The node agent's own entry (`swarmkeeper-node [global options] node bootstrap ...`):
// like bin/swarmkeeper.js, but loading only what the agent needs.
import { loadEntry } from './load-entry.js';

await loadEntry('cli/node-main');
