// `swarmkeeper demo`: runs the whole reconcile loop on this machine (src/cli/demo/).
// Ctrl-C or SIGTERM at any point stops it cleanly: the demo's teardown terminates every
// instance and stops the management etcd before the process exits.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { SwarmkeeperError } from '../../errors.ts';
import { createLogger } from '../../log.ts';
import { LocalProvider } from '../../providers/local/local-provider.ts';
import { DEMO_NODE_BLOCK } from '../demo/demo-backends.ts';
import { runDemo } from '../demo/demo-run.ts';
import { managementEtcdPaths, stopKeptManagementEtcd } from '../demo/management-etcd.ts';

interface DemoFlags {
  keep: boolean;
  timeout: string;
  provider: 'auto' | 'local' | 'sim';
  workers: string;
  scaleTo: string;
  down?: string;
  output?: 'json';
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('Run swarmkeeper end to end on this machine: create a cluster, scale it, heal it (local dockerd + etcd)')
    .option('--keep', 'leave the cluster and its management etcd running at the end', false)
    .option('--timeout <seconds>', 'how long each stage may take', '300')
    .addOption(
      new Option('--provider <name>', 'where nodes come from; auto = local when possible, else sim')
        .choices(['auto', 'local', 'sim'])
        .default('auto'),
    )
    .option('--workers <n>', 'workers to start with', '2')
    .option('--scale-to <n>', 'workers after the scale stage', '3')
    .option('--down <dir>', 'take down a demo kept with --keep (its state directory) and exit')
    .addOption(
      new Option(
        '-o, --output <format>',
        "json: a summary of the stages (times, phases, the sample service's lowest replicas) on stdout; progress goes to stderr",
      ).choices(['json']),
    )
    .action(async (flags: DemoFlags) => {
      const toStdout = (line: string): void => void process.stdout.write(`${line}\n`);
      // With -o json, stdout carries only the summary: progress goes to stderr.
      const print = flags.output === 'json' ? (line: string): void => void process.stderr.write(`${line}\n`) : toStdout;
      if (flags.down) {
        await takeDown(flags.down, print);
        return;
      }
      const timeout = positiveInt(flags.timeout, '--timeout', 1, 3600);
      const workers = positiveInt(flags.workers, '--workers', 0);
      const scaleTo = positiveInt(flags.scaleTo, '--scale-to', 0);
      const root = program.opts<{ logLevel?: string }>();
      // Progress goes to stdout; the controller's own log shows only errors unless a
      // level was asked for (--log-level or SWARMKEEPER_LOG_LEVEL).
      const asked = program.getOptionValueSource('logLevel') !== 'default';
      const logger = createLogger({ level: asked ? (root.logLevel ?? 'info') : 'error' });
      const abort = new AbortController();
      let signals = 0;
      const onSignal = (sig: NodeJS.Signals): void => {
        signals++;
        if (signals === 1) {
          print(`\n${sig}: stopping; cleaning up (Ctrl-C twice more to abandon the cleanup)`);
          abort.abort();
        } else if (signals >= 3) {
          print('Abandoning the cleanup: processes may be left behind (swarmkeeper demo --down <dir> removes them)');
          process.exit(130);
        }
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        await runDemo({
          keep: flags.keep,
          timeoutMs: timeout * 1000,
          provider: flags.provider,
          workers,
          scaleWorkersTo: scaleTo,
          print,
          logger,
          signal: abort.signal,
          ...(flags.output ? { output: flags.output, emit: toStdout } : {}),
        });
      } catch (err) {
        if (abort.signal.aborted) {
          process.exitCode = 130;
          return;
        }
        throw err;
      } finally {
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
      }
    });
}

/** Terminates every instance a kept demo left, stops its management etcd, removes its directory. */
async function takeDown(dir: string, print: (l: string) => void): Promise<void> {
  if (!existsSync(join(dir, 'mgmt-etcd.address')) && !existsSync(join(dir, 'state'))) {
    throw new SwarmkeeperError('NotFound', `${dir} is not a kept demo's directory (no mgmt-etcd.address or state/)`);
  }
  const provider = new LocalProvider({ baseDir: dir, addressBlock: DEMO_NODE_BLOCK, skipPreflight: true });
  const clusters = existsSync(join(dir, 'state')) ? readdirSync(join(dir, 'state')) : [];
  for (const cluster of clusters) {
    const instances = await provider.list(cluster);
    await Promise.all(
      instances.map(async (i) => {
        await provider.terminate(cluster, i.id);
        print(`terminated ${i.id}`);
      }),
    );
  }
  const addressFile = managementEtcdPaths(dir).addressFile;
  const address = existsSync(addressFile) ? readFileSync(addressFile, 'utf8').trim() : undefined;
  if (await stopKeptManagementEtcd(dir, address)) print('stopped the management etcd');
  rmSync(dir, { recursive: true, force: true });
  print(`removed ${dir}`);
}

function positiveInt(text: string, flag: string, min: number, max = 50): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new SwarmkeeperError('Usage', `${flag} must be an integer between ${min} and ${max}, not ${text}`);
  return n;
}
