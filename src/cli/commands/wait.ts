// `swarmkeeper wait NAME --for=condition=Ready [--timeout=30s]`, as kubectl wait: exit 0
// when the condition is met (`swarmcluster.swarmkeeper.dev/NAME condition met`), 1 when
// the timeout passes first or on an error, 2 for a usage error. `--for=delete` waits
// until the cluster's keys are gone (a missing cluster is met at once).
import type { Command } from 'commander';
import { SwarmkeeperError } from '../../errors.ts';
import { RESOURCE, RESOURCES, notFound, withStore } from '../input.ts';
import { describeWaitFor, parseDuration, parseWaitFor } from '../wait-for.ts';
import { waitForCluster } from '../wait-loop.ts';
import { parseOutputFormat } from '../output.ts';

export function registerWait(program: Command): void {
  program
    .command('wait')
    .description('Wait until a SwarmCluster meets a condition, or is deleted')
    .argument('<name>', 'cluster name')
    .requiredOption('--for <condition>', 'condition=<Ready|Progressing|Degraded|SpecValid>[=true|false|unknown], or delete')
    .option('--timeout <duration>', 'how long to wait (30s, 5m, 1h; 0 waits for ever)', '30s')
    .option('-o, --output <format>', 'name: print only swarmcluster.swarmkeeper.dev/NAME')
    .addHelpText(
      'after',
      '\nExit codes: 0 met, 1 timed out (or an error), 2 usage.\n\nExamples:\n  swarmkeeper wait prod --for=condition=Ready --timeout=10m\n  swarmkeeper wait prod --for=condition=Degraded=false\n  swarmkeeper wait prod --for=delete --timeout=15m',
    )
    .action(async (name: string, opts: { for: string; timeout: string; output?: string }, cmd: Command) => {
      const want = parseWaitFor(opts.for);
      const timeoutMs = parseDuration(opts.timeout, '--timeout');
      const format = parseOutputFormat(opts.output, ['table', 'name']);
      const met = await withStore(cmd, async (store) => {
        if (want.kind === 'condition' && !(await store.get(name))) throw notFound(name);
        return waitForCluster(store, name, want, { timeoutMs });
      });
      if (!met) throw new SwarmkeeperError('Timeout', `timed out waiting for the ${describeWaitFor(want)} on ${RESOURCES}/${name}`);
      process.stdout.write(
        format === 'name' ? `${RESOURCE}/${name}\n` : `${RESOURCE}/${name} ${want.kind === 'delete' ? 'deleted' : 'condition met'}\n`,
      );
    });
}
