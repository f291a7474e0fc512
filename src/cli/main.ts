// The `swarmkeeper` command line. Each command lives in its own module under
// src/cli/commands/ and exports `register(program)`; this file wires them together
// and turns errors into kubectl-style exit codes: 0 ok, 1 error, 2 usage.
import { buildProgram } from './program.ts';
import { runProgram } from './run-program.ts';

export async function runCli(argv: readonly string[]): Promise<number> {
  return runProgram(await buildProgram(argv), argv);
}

// Run when executed directly (bin/swarmkeeper.js imports this module).
const code = await runCli(process.argv.slice(2));
process.exitCode = code;
