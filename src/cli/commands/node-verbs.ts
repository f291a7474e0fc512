// `swarmkeeper node cordon|drain|uncordon|replace CLUSTER INSTANCE`: an operator request,
// stored in the node's control key in the management etcd and carried out by the
// controller's planner under the usual rules (drain waits for the node's tasks; replace
// is add-first for a healthy manager). The instance must be one of the cluster's nodes
// as its status lists them: a request for an unknown instance is refused and nothing is
// written. The request shows in `status` (REQUEST) and its steps in the journal.
import type { Command } from 'commander';
import { SwarmkeeperError } from '../../errors.ts';
import { EtcdMarkStore } from '../../store/mark-store.ts';
import type { NodeRequestAction } from '../../model/snapshot.ts';
import { notFound, RESOURCE, withStore } from '../input.ts';

const VERBS: ReadonlyArray<{ action: NodeRequestAction; what: string }> = [
  { action: 'cordon', what: 'Stop new tasks on a node (swarm availability pause); its tasks keep running' },
  { action: 'drain', what: 'Move the tasks off a node (availability drain), within the drain timeout' },
  { action: 'uncordon', what: 'Make a cordoned or drained node take tasks again (availability active)' },
  { action: 'replace', what: 'Replace a node with a new one (a healthy manager is added first)' },
];

export function registerNodeVerbs(node: Command): void {
  for (const verb of VERBS) {
    node
      .command(verb.action)
      .description(verb.what)
      .argument('<cluster>', 'SwarmCluster name')
      .argument('<instance>', 'instance id (the INSTANCE column of swarmkeeper status)')
      .addHelpText('after', `\nExample:\n  swarmkeeper node ${verb.action} prod lc-0123456789`)
      .action(async (cluster: string, instance: string, _opts: unknown, cmd: Command) => {
        await withStore(cmd, async (store) => {
          const stored = await store.get(cluster);
          if (!stored) throw notFound(cluster);
          const known = (stored.status?.nodes ?? []).map((n) => n.instanceId);
          if (!known.includes(instance)) {
            throw new SwarmkeeperError(
              'NotFound',
              `${RESOURCE} "${cluster}" has no node "${instance}" (its nodes: ${known.join(', ') || 'none reported yet'}); nothing was changed`,
            );
          }
          const marks = new EtcdMarkStore(store.client, { prefix: store.prefix });
          const current = (await marks.listControls(cluster)).find((c) => c.instanceId === instance);
          await marks.putControl(cluster, { ...current, instanceId: instance, request: { action: verb.action, requestedAt: Date.now() } });
        });
        process.stdout.write(`node/${instance} ${verb.action} requested (cluster ${cluster}; swarmkeeper status ${cluster} shows it)\n`);
      });
  }
}
