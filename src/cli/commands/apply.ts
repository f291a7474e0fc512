// `swarmkeeper apply -f FILE`: validate, then write the spec to etcd (nothing is
// written when the document is invalid). Prints created, configured or unchanged.
import type { Command } from 'commander';
import { loadClusterText } from '../../spec/codec.ts';
import { INPUT_FILE_LIMITS } from '../../spec/text-limits.ts';
import { readSource, RESOURCE, withStore } from '../input.ts';

export function registerApply(program: Command): void {
  program
    .command('apply')
    .description('Create or update a SwarmCluster from a file (validated first; nothing is written on error)')
    .requiredOption('-f, --filename <file>', 'the SwarmCluster YAML or JSON file ("-" for stdin)')
    .addHelpText(
      'after',
      '\nA document carrying metadata.resourceVersion (as `get -o yaml` prints it) is written only if\nthe cluster has not changed since; otherwise apply fails with a conflict.\n\nExamples:\n  swarmkeeper apply -f cluster.yaml\n  swarmkeeper get prod -o yaml | sed s/count: 3/count: 5/ | swarmkeeper apply -f -',
    )
    .action(async (opts: { filename: string }, cmd: Command) => {
      const { text, source } = readSource(opts.filename);
      const doc = loadClusterText(text, source, INPUT_FILE_LIMITS);
      const { result, cluster } = await withStore(cmd, (store) => store.apply(doc));
      process.stdout.write(`${RESOURCE}/${cluster.metadata.name} ${result}\n`);
    });
}
