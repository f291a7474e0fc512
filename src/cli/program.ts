// The `swarmkeeper` program: every command, registered lazily. Kept apart from main.ts
// (which runs the CLI when loaded) so `completion` can build the whole tree.
import { Command } from 'commander';
import { addGlobalOptions } from './global-options.ts';
import type { Command as CommandType } from 'commander';

type Register = (program: CommandType) => void;

// Commands load lazily: each pulls in heavy SDKs (AWS, dockerode, etcd3, fastify), and
// a CLI call should pay only for the one it runs. `--help` without a command loads all.
const COMMANDS: Record<string, () => Promise<Register>> = {
  version: async () => (await import('./commands/version.ts')).registerVersion,
  validate: async () => (await import('./commands/validate.ts')).registerValidate,
  apply: async () => (await import('./commands/apply.ts')).registerApply,
  get: async () => (await import('./commands/get.ts')).registerGet,
  edit: async () => (await import('./commands/edit.ts')).registerEdit,
  delete: async () => (await import('./commands/delete.ts')).registerDelete,
  wait: async () => (await import('./commands/wait.ts')).registerWait,
  plan: async () => (await import('./commands/plan.ts')).registerPlan,
  status: async () => (await import('./commands/status.ts')).registerStatus,
  backup: async () => (await import('./commands/backup.ts')).registerBackup,
  recover: async () => (await import('./commands/recover.ts')).registerRecover,
  run: async () => (await import('./commands/run.ts')).registerRun,
  demo: async () => (await import('./commands/demo.ts')).registerDemo,
  node: async () => (await import('./commands/node.ts')).registerNode,
  completion: async () => (await import('./commands/completion.ts')).registerCompletion,
  'render-cloud-config': async () => (await import('./commands/render-cloud-config.ts')).registerRenderCloudConfig,
  'docker-cert': async () => (await import('./commands/docker-cert.ts')).registerDockerCert,
};

/**
 * The command named on the command line, or undefined (help, or an unknown command).
 * The values of global options (read from the program, so a new one is never missed)
 * are not mistaken for command names.
 */
function commandNameOf(program: Command, argv: readonly string[]): string | undefined {
  const takesValue = new Set(program.options.filter((o) => o.required || o.optional).map((o) => o.long));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (takesValue.has(arg)) {
      i++;
      continue;
    }
    if (arg.startsWith('-')) continue;
    return Object.hasOwn(COMMANDS, arg) ? arg : undefined;
  }
  return undefined;
}

export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command('swarmkeeper')
    .description('Keeps a Docker Swarm on CoreOS/Flatcar nodes converged to a declarative SwarmCluster spec')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  addGlobalOptions(program);
  const name = commandNameOf(program, argv);
  const loaders = name ? [COMMANDS[name]!] : Object.values(COMMANDS);
  for (const register of await Promise.all(loaders.map((load) => load()))) register(program);
  return program;
}
