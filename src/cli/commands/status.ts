// `swarmkeeper status NAME [-o json]`: what the controller last saw and did for one
// cluster: nodes (role, instance id, address, swarm state, etcd membership, health),
// conditions, holds, and the most recent operations from the journal. The JSON form
// carries the same fields, for scripts. -w prints the view again on every change.
import type { Command } from 'commander';
import { SwarmkeeperError } from '../../errors.ts';
import { specErrorOf, type EtcdClusterStore } from '../../store/etcd-store.ts';
import { Journal } from '../../store/journal.ts';
import { EtcdMarkStore } from '../../store/mark-store.ts';
import { etcdFencedKv } from '../../store/fenced-kv.ts';
import { notFound, RESOURCE, withStore } from '../input.ts';
import { watchUntilInterrupted } from '../watch-until-interrupted.ts';
import { buildStatusView, renderStatusText, type StatusView } from './status-view.ts';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("Show a cluster's nodes, conditions and recent operations")
    .argument('<name>', 'cluster name')
    .option('-o, --output <format>', 'json or name (default: text)')
    .option('--operations <n>', 'how many recent operations to show', '10')
    .option('-w, --watch', 'print the view again whenever the cluster changes, until interrupted')
    .addHelpText(
      'after',
      '\nExamples:\n  swarmkeeper status prod\n  swarmkeeper status prod -o json | jq .nodes\n  swarmkeeper status prod -w',
    )
    .action(async (name: string, opts: { output?: string; operations: string; watch?: boolean }, cmd: Command) => {
      if (opts.output !== undefined && opts.output !== 'json' && opts.output !== 'name') {
        throw new SwarmkeeperError('Usage', `--output ${opts.output}: status prints text, json (-o json) or name (-o name)`);
      }
      const format = opts.output ?? 'text';
      const operations = Number.parseInt(opts.operations, 10);
      if (!Number.isInteger(operations) || operations < 0)
        throw new SwarmkeeperError('Usage', `--operations ${opts.operations}: expected a whole number`);
      await withStore(cmd, async (store) => {
        let shown = render(await requireView(store, name, operations), name, format);
        process.stdout.write(shown);
        if (opts.watch !== true) return;
        await watchUntilInterrupted(store, async (e) => {
          if (e.name !== name) return;
          const view = e.type === 'delete' ? undefined : await readView(store, name, operations);
          if (!view) {
            process.stderr.write(`${RESOURCE}/${name} deleted\n`);
            shown = '';
            return;
          }
          const next = render(view, name, format);
          if (next === shown) return;
          shown = next;
          // Views follow one another with a blank line between, as `watch` would not scroll them.
          process.stdout.write(format === 'text' ? `\n${next}` : next);
        });
      });
    });
}

function render(view: StatusView, name: string, format: string): string {
  if (format === 'name') return `${RESOURCE}/${name}\n`;
  return format === 'json' ? `${JSON.stringify(view, null, 2)}\n` : renderStatusText(view);
}

/** The view, or an error saying why there is none (no valid spec, or no such cluster). */
async function requireView(store: EtcdClusterStore, name: string, operations: number): Promise<StatusView> {
  const view = await readView(store, name, operations);
  if (view) return view;
  const raw = await store.readRaw(name);
  if (raw.specText !== undefined)
    throw new SwarmkeeperError('SpecInvalid', `SwarmCluster "${name}" has no valid spec: ${specErrorOf(raw) ?? 'unknown error'}`);
  throw notFound(name);
}

/** The view, or undefined when the cluster has no spec in force (deleted, or never valid). */
async function readView(store: EtcdClusterStore, name: string, operations: number): Promise<StatusView | undefined> {
  const stored = await store.get(name);
  if (!stored) return undefined;
  const [journal, controls] = await Promise.all([
    new Journal(etcdFencedKv(store.client), { prefix: store.prefix }).list(name),
    new EtcdMarkStore(store.client, { prefix: store.prefix }).listControls(name),
  ]);
  const requests = Object.fromEntries(controls.flatMap((c) => (c.request ? [[c.instanceId, c.request.action] as const] : [])));
  return buildStatusView(stored.cluster, stored.status, journal, {
    operations,
    requests,
    ...(stored.specError ? { specError: stored.specError } : {}),
  });
}
