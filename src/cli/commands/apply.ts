// `swarmkeeper apply -f FILE`: validate, then write the spec to etcd (nothing is
// written when the document is invalid). Prints created, configured or unchanged.
import type { Command } from 'commander';
import { loadClusterText } from '../../spec/codec.ts';
import { INPUT_FILE_LIMITS } from '../../spec/text-limits.ts';
import { readSource, RESOURCE, withStore } from '../input.ts';
import { parseOutputFormat } from '../output.ts';

export function registerApply(program: Command): void {
  program
    .command('apply')
    .description('Create or update a SwarmCluster from a file (validated first; nothing is written on error)')
    .requiredOption('-f, --filename <file>', 'the SwarmCluster YAML or JSON file ("-" for stdin)')
    .option('-o, --output <format>', 'name: print only swarmcluster.swarmkeeper.dev/NAME')
    .addHelpText(
      'after',
      '\nA document carrying metadata.resourceVersion (as `get -o yaml` prints it) is written only if\nthe cluster has not changed since; otherwise apply fails with a conflict.\n\nExamples:\n  swarmkeeper apply -f cluster.yaml\n  swarmkeeper get prod -o yaml | sed s/count: 3/count: 5/ | swarmkeeper apply -f -',
    )
    .action(async (opts: { filename: string; output?: string }, cmd: Command) => {
      const format = parseOutputFormat(opts.output, ['table', 'name']);
      const { text, source } = readSource(opts.filename);
      const doc = loadClusterText(text, source, INPUT_FILE_LIMITS);
      const { result, cluster } = await withStore(cmd, (store) => store.apply(doc));
      process.stdout.write(format === 'name' ? `${RESOURCE}/${cluster.metadata.name}\n` : `${RESOURCE}/${cluster.metadata.name} ${result}\n`);
    });
}
