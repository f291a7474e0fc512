// `swarmkeeper validate -f FILE`: parse and validate offline (no etcd), naming every
// field that breaks a rule. Exit 0 when valid, 1 when not. Warns (stderr, kubectl's
// "Warning:" form) where kubectl would read a value of the file differently (YAML 1.1):
// such a file means one thing to `swarmkeeper apply` and another to `kubectl apply`.
import type { Command } from 'commander';
import { loadClusterText } from '../../spec/codec.ts';
import { describeDifference, kubectlReadings } from '../../spec/yaml-dialects.ts';
import { readSource, RESOURCE } from '../input.ts';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('Check a SwarmCluster file against the schema and rules, without touching etcd')
    .requiredOption('-f, --filename <file>', 'the SwarmCluster YAML or JSON file ("-" for stdin)')
    .addHelpText('after', '\nExamples:\n  swarmkeeper validate -f cluster.yaml\n  cat cluster.yaml | swarmkeeper validate -f -')
    .action((opts: { filename: string }) => {
      const { text, source } = readSource(opts.filename);
      for (const d of kubectlReadings(text)) process.stderr.write(`Warning: ${source}: ${describeDifference(d)}\n`);
      const cluster = loadClusterText(text, source);
      process.stdout.write(`${RESOURCE}/${cluster.metadata.name} is valid\n`);
    });
}
