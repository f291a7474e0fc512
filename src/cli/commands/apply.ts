// `swarmkeeper apply -f FILE`: validate, then write the spec to etcd (nothing is
// written when the document is invalid). Prints created, configured or unchanged.
// --wait then follows the controller until the applied generation is Ready.
import type { Command } from 'commander';
import { loadClusterText } from '../../spec/codec.ts';
import { INPUT_FILE_LIMITS } from '../../spec/text-limits.ts';
import { readSource, RESOURCE, withStore } from '../input.ts';
import { parseOutputFormat } from '../output.ts';
import { followApply } from '../apply-wait.ts';
import { parseDuration } from '../wait-for.ts';

export function registerApply(program: Command): void {
  program
    .command('apply')
    .description('Create or update a SwarmCluster from a file (validated first; nothing is written on error)')
    .requiredOption('-f, --filename <file>', 'the SwarmCluster YAML or JSON file ("-" for stdin)')
    .option('-o, --output <format>', 'name: print only swarmcluster.swarmkeeper.dev/NAME')
    .option('--wait', "then follow the controller's steps until the applied generation is Ready")
    .option('--timeout <duration>', 'with --wait: how long (30s, 5m, 1h; 0 waits for ever)', '10m')
    .addHelpText(
      'after',
      '\nA document carrying metadata.resourceVersion (as `get -o yaml` prints it) is written only if\nthe cluster has not changed since; otherwise apply fails with a conflict.\n\nExamples:\n  swarmkeeper apply -f cluster.yaml\n  swarmkeeper apply -f cluster.yaml --wait --timeout 15m\n  swarmkeeper get prod -o yaml | sed s/count: 3/count: 5/ | swarmkeeper apply -f -',
    )
    .action(async (opts: { filename: string; output?: string; wait?: boolean; timeout: string }, cmd: Command) => {
      const format = parseOutputFormat(opts.output, ['table', 'name']);
      const timeoutMs = parseDuration(opts.timeout, '--timeout');
      const { text, source } = readSource(opts.filename);
      const doc = loadClusterText(text, source, INPUT_FILE_LIMITS);
      await withStore(cmd, async (store) => {
        const { result, cluster } = await store.apply(doc);
        const name = cluster.metadata.name;
        process.stdout.write(format === 'name' ? `${RESOURCE}/${name}\n` : `${RESOURCE}/${name} ${result}\n`);
        if (opts.wait !== true) return;
        // With -o name stdout stays one line per object; the steps go to stderr.
        const out = (line: string): void => void (format === 'name' ? process.stderr : process.stdout).write(`${line}\n`);
        await followApply(store, name, cluster.metadata.generation ?? 0, timeoutMs, out);
        out(`${RESOURCE}/${name} condition met (Ready, generation ${cluster.metadata.generation ?? 0})`);
      });
    });
}
