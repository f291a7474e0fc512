// `swarmkeeper status NAME [-o json]`: what the controller last saw and did for one
// cluster: nodes (role, instance id, address, swarm state, etcd membership, health),
// conditions, holds, and the most recent operations from the journal. The JSON form
// carries the same fields, for scripts.
import type { Command } from 'commander';
import { SwarmkeeperError } from '../../errors.ts';
import { specErrorOf } from '../../store/etcd-store.ts';
import { Journal } from '../../store/journal.ts';
import { EtcdMarkStore } from '../../heal/mark-store.ts';
import { etcdFencedKv } from '../../store/fenced-kv.ts';
import { notFound, withStore } from '../input.ts';
import { buildStatusView, renderStatusText } from './status-view.ts';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("Show a cluster's nodes, conditions and recent operations")
    .argument('<name>', 'cluster name')
    .option('-o, --output <format>', 'json (default: text)')
    .option('--operations <n>', 'how many recent operations to show', '10')
    .addHelpText('after', '\nExamples:\n  swarmkeeper status prod\n  swarmkeeper status prod -o json | jq .nodes')
    .action(async (name: string, opts: { output?: string; operations: string }, cmd: Command) => {
      if (opts.output !== undefined && opts.output !== 'json') {
        throw new SwarmkeeperError('Usage', `--output ${opts.output}: status prints text or json (-o json)`);
      }
      const operations = Number.parseInt(opts.operations, 10);
      if (!Number.isInteger(operations) || operations < 0) throw new SwarmkeeperError('Usage', `--operations ${opts.operations}: expected a whole number`);
      const view = await withStore(cmd, async (store) => {
        const stored = await store.get(name);
        if (!stored) {
          const raw = await store.readRaw(name);
          if (raw.specText !== undefined) throw new SwarmkeeperError('SpecInvalid', `SwarmCluster "${name}" has no valid spec: ${specErrorOf(raw) ?? 'unknown error'}`);
          throw notFound(name);
        }
        const journal = await new Journal(etcdFencedKv(store.client), { prefix: store.prefix }).list(name);
        const controls = await new EtcdMarkStore(store.client, { prefix: store.prefix }).listControls(name);
        const requests = Object.fromEntries(controls.flatMap((c) => (c.request ? [[c.instanceId, c.request.action] as const] : [])));
        return buildStatusView(stored.cluster, stored.status, journal, { operations, requests, ...(stored.specError ? { specError: stored.specError } : {}) });
      });
      process.stdout.write(opts.output === 'json' ? `${JSON.stringify(view, null, 2)}\n` : renderStatusText(view));
    });
}
