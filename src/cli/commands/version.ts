import type { Command } from 'commander';
import { PACKAGE_VERSION } from '../../version.ts';

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('Print the swarmkeeper version')
    .option('-o, --output <format>', 'output format: text|json', 'text')
    .action((opts: { output: string }) => {
      const v = { version: PACKAGE_VERSION, apiVersion: 'swarmkeeper.dev/v1alpha1', node: process.version };
      process.stdout.write(opts.output === 'json' ? `${JSON.stringify(v, null, 2)}\n` : `swarmkeeper ${v.version} (${v.apiVersion})\n`);
    });
}
