// `swarmkeeper plan [NAME]`: what the controller would do next, like `terraform plan`:
// each step with why and the safety rule that allowed it, and every change held back
// with the rule that held it. Sources:
// - live: NAME's spec from the management etcd, the world observed the way the
//   controller observes it (observeCluster), marks, journal and published endpoints;
// - offline: --snapshot FILE (a saved Snapshot, JSON) with --spec FILE (a SwarmCluster
//   document) or NAME's spec from the management etcd.
// Exit codes: 0, or with --detailed-exitcode 0 = no changes, 2 = changes pending; 1 on
// error (always, also with --detailed-exitcode).
import type { Command } from 'commander';
import { SwarmkeeperError, messageOf } from '../../errors.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { plan } from '../../plan/plan.ts';
import { formatPlan } from '../../plan/format.ts';
import { parseSnapshot } from '../../plan/snapshot-file.ts';
import type { PlanResult } from '../../plan/steps.ts';
import { resolveCluster, type ResolvedSpec } from '../../spec/defaults.ts';
import { loadClusterText } from '../../spec/codec.ts';
import { INPUT_FILE_LIMITS } from '../../spec/text-limits.ts';
import { readSource, withStore, notFound } from '../input.ts';
import type { EtcdClusterStore } from '../../store/etcd-store.ts';

interface PlanOpts {
  readonly snapshot?: string;
  readonly spec?: string;
  readonly output: string;
  readonly detailedExitcode?: boolean;
  readonly now?: string;
}

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('Show the steps the controller would take next, why, and which safety rule allowed or held back each')
    .argument('[name]', 'cluster name (its spec is read from the management etcd)')
    .option('--snapshot <file>', 'plan against a saved observation (Snapshot JSON) instead of observing the cluster')
    .option('--spec <file>', 'the SwarmCluster document to plan for (YAML or JSON; default: NAME from the management etcd)')
    .option('-o, --output <format>', 'text or json', 'text')
    .option('--detailed-exitcode', 'exit 0 when there is nothing to do, 2 when changes are pending, 1 on error')
    .option('--now <time>', 'plan as of this time (ISO 8601 or epoch ms; default: the snapshot time, or now)')
    .addHelpText(
      'after',
      '\nExamples:\n  swarmkeeper plan prod\n  swarmkeeper plan --snapshot snap.json --spec cluster.yaml -o json\n  swarmkeeper plan prod --detailed-exitcode || echo "changes pending"',
    )
    .action(async (name: string | undefined, opts: PlanOpts, cmd: Command) => {
      try {
        const { result, spec } = await runPlan(name, opts, cmd);
        process.stdout.write(
          opts.output === 'json'
            ? `${JSON.stringify({ cluster: spec.name, generation: spec.generation, ...result }, null, 2)}\n`
            : formatPlan(result, { cluster: spec.name, generation: spec.generation }),
        );
        if (opts.detailedExitcode) process.exitCode = result.steps.length > 0 ? 2 : 0;
      } catch (err) {
        if (!opts.detailedExitcode) throw err;
        // Exit 2 means "changes pending" here, so every error (usage too) exits 1.
        process.stderr.write(`error: ${messageOf(err)}\n`);
        process.exitCode = 1;
      }
    });
}

async function runPlan(name: string | undefined, opts: PlanOpts, cmd: Command): Promise<{ result: PlanResult; spec: ResolvedSpec }> {
  if (opts.output !== 'text' && opts.output !== 'json')
    throw new SwarmkeeperError('Usage', `--output ${opts.output}: expected text or json`);
  const now = opts.now === undefined ? undefined : parseTime(opts.now);
  if (opts.snapshot !== undefined) {
    const snapshot = readSnapshot(opts.snapshot);
    const spec =
      opts.spec !== undefined ? specFromFile(opts.spec, name) : await withStore(cmd, (store) => specFromStore(store, requireName(name)));
    return { result: plan(spec, snapshot, { now: now ?? snapshot.observedAt }), spec };
  }
  if (opts.spec !== undefined)
    throw new SwarmkeeperError('Usage', '--spec needs --snapshot: a live plan reads the spec in force from the management etcd');
  const cluster = requireName(name);
  return withStore(cmd, async (store) => {
    const spec = await specFromStore(store, cluster);
    const snapshot = await observeLive(store, spec);
    return { result: plan(spec, snapshot, { now: now ?? snapshot.observedAt }), spec };
  });
}

function requireName(name: string | undefined): string {
  if (name === undefined) throw new SwarmkeeperError('Usage', 'plan needs a cluster NAME (or --snapshot FILE with --spec FILE)');
  return name;
}

function readSnapshot(file: string): Snapshot {
  const { text, source } = readSource(file);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new SwarmkeeperError('SpecInvalid', `${source}: not JSON: ${messageOf(err)}`, { cause: err });
  }
  return parseSnapshot(value, source);
}

function specFromFile(file: string, name: string | undefined): ResolvedSpec {
  const { text, source } = readSource(file);
  const cluster = loadClusterText(text, source, INPUT_FILE_LIMITS);
  if (name !== undefined && name !== cluster.metadata.name)
    throw new SwarmkeeperError('Usage', `NAME ${name} differs from metadata.name ${cluster.metadata.name} in ${source}`);
  return resolveCluster(cluster);
}

async function specFromStore(store: EtcdClusterStore, name: string): Promise<ResolvedSpec> {
  const stored = await store.get(name);
  if (!stored) throw notFound(name);
  return resolveCluster(stored.cluster);
}

/**
 * The live observation, exactly as the controller makes it (observeCluster and its
 * adapters). Imported lazily: an offline plan (--snapshot) never loads dockerode or the
 * cloud SDKs.
 */
export async function observeLive(store: EtcdClusterStore, spec: ResolvedSpec): Promise<Snapshot> {
  const [
    { PeerClients },
    { providerForSpec },
    { livePeerFactories },
    { EtcdMarkStore },
    { Journal },
    { observeWithPublished },
    { silentLogger },
    { etcdFencedKv },
  ] = await Promise.all([
    import('../../observe/peer-clients.ts'),
    import('../../controller/providers.ts'),
    import('../../controller/live-peers.ts'),
    import('../../store/mark-store.ts'),
    import('../../store/journal.ts'),
    import('../../controller/published-endpoints.ts'),
    import('../../log.ts'),
    import('../../store/fenced-kv.ts'),
  ]);
  const provider = providerForSpec(spec, { logger: silentLogger() });
  const peers = new PeerClients(livePeerFactories());
  const kv = etcdFencedKv(store.client);
  try {
    return await observeWithPublished(
      {
        cluster: spec.name,
        provider,
        peers,
        marks: new EtcdMarkStore(store.client, { prefix: store.prefix }),
        journal: new Journal(kv, { prefix: store.prefix }),
      },
      kv,
      store.prefix,
    );
  } finally {
    await peers.close();
    await provider.close();
  }
}

function parseTime(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(n)) throw new SwarmkeeperError('Usage', `--now ${text}: expected an ISO 8601 time or epoch milliseconds`);
  return n;
}
