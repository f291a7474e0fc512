// Entry point of the node agent alone: the same command line as
// `swarmkeeper [global options] node bootstrap ...`, without loading every other command
// (the AWS SDK, fastify, the controller). A local node boots seconds sooner on a busy
// machine (measured: 0.8 s to load this graph against 3.3 s for the whole CLI).
// bin/swarmkeeper-node.js runs it; the full CLI keeps `node bootstrap` too. `npm run
// build` bundles this entry into one file (scripts/build.mjs), which loads faster still.
import { Command } from 'commander';
import { registerNode } from './commands/node.ts';
import { addGlobalOptions } from './global-options.ts';
import { runProgram } from './run-program.ts';

const program = new Command('swarmkeeper').exitOverride();
addGlobalOptions(program);
registerNode(program);
process.exitCode = await runProgram(program, process.argv.slice(2));
