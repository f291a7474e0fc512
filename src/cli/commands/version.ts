import type { Command } from 'commander';
import { readFileSync } from 'node:fs';

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('Print the swarmkeeper version')
    .option('-o, --output <format>', 'output format: text|json', 'text')
    .action((opts: { output: string }) => {
      const v = { version: packageVersion(), apiVersion: 'swarmkeeper.dev/v1alpha1', node: process.version };
      process.stdout.write(opts.output === 'json' ? `${JSON.stringify(v, null, 2)}\n` : `swarmkeeper ${v.version} (${v.apiVersion})\n`);
    });
}
