// `swarmkeeper delete NAME`: cascading deletion, as kubectl deletes an object with
// dependents. The default (--cascade=background) records the deletion request; the
// controller takes the cluster to its Deleting phase (workers drained and terminated
// first, managers one membership change at a time, the last manager last) and removes
// its keys at the end. `--wait` waits for that. `--cascade=orphan` removes the keys at
// once and leaves every node running. A cascade needs a running controller: without a
// leader the command changes nothing and says what to do.
import { Command, Option } from 'commander';
import { SwarmkeeperError } from '../../errors.ts';
import { currentLeader } from '../../store/election.ts';
import type { EtcdClusterStore } from '../../store/etcd-store.ts';
import { notFound, RESOURCE, RESOURCES, withStore } from '../input.ts';
import { parseOutputFormat } from '../output.ts';
import { parseDuration } from '../wait-for.ts';
import { waitForCluster } from '../wait-loop.ts';

interface DeleteFlags {
  cascade: 'background' | 'foreground' | 'orphan';
  wait: boolean;
  timeout: string;
  output?: string;
}

export function registerDelete(program: Command): void {
  program
    .command('delete')
    .description('Delete a SwarmCluster: drain and terminate its nodes, then remove its keys')
    .argument('<name>', 'cluster name')
    .addOption(
      new Option(
        '--cascade <mode>',
        'background: the controller takes the nodes down; orphan: remove the keys only, leave the nodes running',
      )
        .choices(['background', 'foreground', 'orphan'])
        .default('background'),
    )
    .option('--wait', 'wait until every node is gone and the keys are removed', false)
    .option('--timeout <duration>', 'with --wait: how long to wait (0 waits for ever)', '15m')
    .option('-o, --output <format>', 'name: print only swarmcluster.swarmkeeper.dev/NAME')
    .addHelpText(
      'after',
      '\nThe controller (swarmkeeper run) carries the deletion out; without one, nothing is changed.\n\nExamples:\n  swarmkeeper delete staging --wait\n  swarmkeeper delete staging --cascade=orphan    # keys only; the nodes keep running',
    )
    .action(async (name: string, flags: DeleteFlags, cmd: Command) => {
      const format = parseOutputFormat(flags.output, ['table', 'name']);
      const timeoutMs = parseDuration(flags.timeout, '--timeout');
      const done = (verb: string): void =>
        void process.stdout.write(format === 'name' ? `${RESOURCE}/${name}\n` : `${RESOURCE} "${name}" ${verb}\n`);
      await withStore(cmd, async (store) => {
        if (flags.cascade === 'orphan') {
          if (!(await store.delete(name))) throw notFound(name);
          done('deleted (orphan: its nodes keep running)');
          return;
        }
        await requestCascade(store, name);
        if (!flags.wait && flags.cascade === 'background') {
          done('deleted (the controller drains and terminates its nodes, then removes it)');
          return;
        }
        if (!(await waitForCluster(store, name, { kind: 'delete' }, { timeoutMs }))) {
          throw new SwarmkeeperError(
            'Timeout',
            `timed out waiting for the deletion of ${RESOURCES}/${name}; it goes on (swarmkeeper status ${name})`,
          );
        }
        done('deleted');
      });
    });
}

async function requestCascade(store: EtcdClusterStore, name: string): Promise<void> {
  if (!(await store.get(name))) throw notFound(name);
  if ((await currentLeader(store.client, store.prefix)) === undefined) {
    throw new SwarmkeeperError(
      'Precondition',
      `no swarmkeeper controller is running (no leader under ${store.prefix}/election), so nothing would take the nodes of "${name}" down; nothing was changed. Start one (swarmkeeper run) and delete again, or delete with --cascade=orphan to remove the keys and leave the nodes running`,
    );
  }
  await store.requestDeletion(name);
}
