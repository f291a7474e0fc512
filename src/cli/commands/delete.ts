// `swarmkeeper delete NAME`: removes every key of the cluster from etcd.
import type { Command } from 'commander';
import { notFound, RESOURCE, withStore } from '../input.ts';

export function registerDelete(program: Command): void {
  program
    .command('delete')
    .description('Delete a SwarmCluster (its spec, status and bookkeeping keys in etcd)')
    .argument('<name>', 'cluster name')
    .addHelpText('after', '\nThe nodes themselves are not touched by this command.\n\nExample:\n  swarmkeeper delete staging')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const deleted = await withStore(cmd, (store) => store.delete(name));
      if (!deleted) throw notFound(name);
      process.stdout.write(`${RESOURCE} "${name}" deleted\n`);
    });
}
