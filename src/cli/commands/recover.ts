// `swarmkeeper recover NAME --from BACKUP`: rebuild a cluster that lost every manager (or
// whose quorum is frozen) from a verified backup (src/backup/recover-cluster.ts). Progress
// goes to stdout line by line (stderr with -o yaml|json, whose document is the last
// thing written). Exit codes: 0 recovered (Ready), 1 refused or failed (a damaged backup,
// a cluster that still has quorum, a timeout), 2 usage.
import type { Command } from 'commander';
import { SwarmkeeperError } from '../../errors.ts';
import { resolveCluster } from '../../spec/defaults.ts';
import { notFound, withStore } from '../input.ts';
import { parseOutputFormat, printObject } from '../output.ts';
import { parseDuration } from '../wait-for.ts';
import { clusterOfBackup } from './backup.ts';

interface RecoverOptions {
  readonly from: string;
  readonly force?: boolean;
  readonly timeout: string;
  readonly output?: string;
}

export function registerRecover(program: Command): void {
  program
    .command('recover')
    .description(
      'Rebuild a cluster that lost every manager (or its quorum) from a backup: restore etcd on a new founder, a fresh swarm, re-create the services, grow back',
    )
    .argument('<name>', 'cluster name')
    .requiredOption('--from <backup>', 'the backup to restore, as `swarmkeeper backup list NAME` shows it')
    .option('--force', "recover even though the cluster's etcd still has quorum (its newer data is lost)")
    .option('--timeout <duration>', 'how long to wait for the new founder and for Ready (30s, 5m, 1h)', '15m')
    .option('-o, --output <format>', 'yaml, json or name (default: progress lines and a summary)')
    .addHelpText(
      'after',
      '\nThe lost nodes are terminated and replaced; surviving workers of the old swarm are replaced too.\nSecrets are restored by name only: create them again (docker secret create) and re-run the same command.\n\nExit codes: 0 recovered, 1 refused or failed (nothing changed when the backup is damaged), 2 usage.\n\nExamples:\n  swarmkeeper backup list prod\n  swarmkeeper recover prod --from prod-20261201t120000000z-scheduled',
    )
    .action(async (name: string, opts: RecoverOptions, cmd: Command) => {
      const format = opts.output === undefined ? 'text' : parseOutputFormat(opts.output, ['yaml', 'json', 'name']);
      const timeoutMs = parseDuration(opts.timeout, '--timeout');
      if (clusterOfBackup(opts.from) !== name)
        throw new SwarmkeeperError('Usage', `backup ${opts.from} belongs to cluster ${clusterOfBackup(opts.from)}, not ${name}`);
      const out = format === 'text' || format === 'name' ? process.stdout : process.stderr;
      const result = await withStore(cmd, (store) => runRecover(store, name, opts, timeoutMs, (line) => out.write(`${line}\n`)));
      const summary = {
        kind: 'Recovery',
        cluster: name,
        backup: result.backup.name,
        founder: result.founder,
        durationSeconds: result.durationMs / 1000,
        swarm: result.swarm,
      };
      if (format === 'name') process.stdout.write(`swarmcluster.swarmkeeper.dev/${name}\n`);
      else if (format === 'json' || format === 'yaml') printObject(summary, format);
      else
        process.stdout.write(
          `swarmcluster.swarmkeeper.dev/${name} recovered from backup/${result.backup.name}: Ready in ${(result.durationMs / 1000).toFixed(1)}s\n`,
        );
    });
}

async function runRecover(
  store: import('../../store/etcd-store.ts').EtcdClusterStore,
  name: string,
  opts: RecoverOptions,
  timeoutMs: number,
  progress: (line: string) => void,
) {
  const [
    { recoverCluster },
    { openBackupStore, storeSpecOf },
    { providerForSpec },
    { observeLive },
    { etcdFencedKv },
    { silentLogger },
    { dockerOf },
  ] = await Promise.all([
    import('../../backup/recover-cluster.ts'),
    import('../../backup/store-for-spec.ts'),
    import('../../controller/providers.ts'),
    import('./plan.ts'),
    import('../../store/fenced-kv.ts'),
    import('../../log.ts'),
    import('../../workload/services.ts'),
  ]);
  const stored = await store.get(name);
  if (!stored) throw notFound(name);
  const spec = resolveCluster(stored.cluster);
  if (spec.providerName !== 'local') {
    // The founder's agent reads the snapshot from the management etcd; EC2 nodes reach the
    // controller's bootstrap exchange instead, which carries no snapshot.
    throw new SwarmkeeperError(
      'Usage',
      `cluster ${name} runs on the ${spec.providerName} provider: recover supports the local provider only; follow docs/runbooks/quorum-lost.md`,
    );
  }
  const provider = providerForSpec(spec, { logger: silentLogger() });
  try {
    return await recoverCluster({
      spec,
      backup: opts.from,
      store: openBackupStore(storeSpecOf(spec)),
      mgmt: etcdFencedKv(store.client),
      prefix: store.prefix,
      provider,
      observe: () => observeLive(store, spec),
      readStatus: async () => (await store.get(name))?.status,
      docker: (endpoint) => dockerOf(endpoint, 30_000),
      force: opts.force === true,
      timeoutMs,
      now: Date.now,
      progress,
    });
  } finally {
    await provider.close();
  }
}
