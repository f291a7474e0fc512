// Parses argv with a built program and turns the outcome into a kubectl-style exit code:
// 0 ok, 1 error, 2 usage. Shared by both entry points (main.ts, node-main.ts), so a bad
// flag exits the same way whichever bin ran it.
import { Command, CommanderError } from 'commander';
import { isSwarmkeeperError, messageOf } from '../errors.ts';

export async function runProgram(program: Command, argv: readonly string[]): Promise<number> {
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      return err.exitCode === 0 ? 0 : 2;
    }
    process.stderr.write(`error: ${messageOf(err)}\n`);
    return isSwarmkeeperError(err, 'Usage') ? 2 : 1;
  }
}
