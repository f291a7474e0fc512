// The `swarmkeeper` command line. Each command lives in its own module under
// src/cli/commands/ and exports `register(program)`; this file wires them together
// and turns errors into kubectl-style exit codes: 0 ok, 1 error, 2 usage.
import { Command, CommanderError } from 'commander';
import { isSwarmkeeperError, messageOf } from '../errors.ts';
import { addGlobalOptions } from './global-options.ts';
import { registerVersion } from './commands/version.ts';
import { registerValidate } from './commands/validate.ts';
import { registerApply } from './commands/apply.ts';
import { registerGet } from './commands/get.ts';
import { registerEdit } from './commands/edit.ts';
import { registerDelete } from './commands/delete.ts';
import { registerNode } from './commands/node.ts';
import { registerRenderCloudConfig } from './commands/render-cloud-config.ts';
import { registerDemo } from './commands/demo.ts';
import { registerRun } from './commands/run.ts';
import { registerStatus } from './commands/status.ts';

export function buildProgram(): Command {
  const program = new Command('swarmkeeper')
    .description('Keeps a Docker Swarm on CoreOS/Flatcar nodes converged to a declarative SwarmCluster spec')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  addGlobalOptions(program);
  registerVersion(program);
  registerValidate(program);
  registerApply(program);
  registerGet(program);
  registerEdit(program);
  registerDelete(program);
  registerNode(program);
  registerRenderCloudConfig(program);
  registerDemo(program);
  registerRun(program);
  registerStatus(program);
  return program;
}

export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (isSwarmkeeperError(err, 'Usage')) {
      process.stderr.write(`error: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`error: ${messageOf(err)}\n`);
    return 1;
  }
}

// Run when executed directly (bin/swarmkeeper.js imports this module).
const code = await runCli(process.argv.slice(2));
process.exitCode = code;
