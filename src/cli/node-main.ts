// Entry point of the node agent alone: the same command line as
// `swarmkeeper [global options] node bootstrap ...`, without loading every other command
// (the AWS SDK, fastify, the controller). A local node boots seconds sooner on a busy
// machine (measured: 0.8 s to load this graph against 3.3 s for the whole CLI).
// bin/swarmkeeper-node.js runs it; the full CLI keeps `node bootstrap` too.
import { Command, CommanderError } from 'commander';
import { messageOf } from '../errors.ts';
import { registerNode } from './commands/node.ts';
import { addGlobalOptions } from './global-options.ts';

const program = new Command('swarmkeeper').exitOverride();
addGlobalOptions(program);
registerNode(program);
try {
  await program.parseAsync(process.argv.slice(2), { from: 'user' });
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else {
    process.stderr.write(`error: ${messageOf(err)}\n`);
    process.exitCode = 1;
  }
}
