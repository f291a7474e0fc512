// Cascading deletion (spec.deletionRequestedAt set, from metadata.deletionTimestamp):
// every node is taken down under the same rules as any removal, then the cluster is
// released. Order:
//   1. workers first, all of them (they vote in neither raft): drain, wait for their
//      tasks to move (bounded by the drain timeout), remove from the swarm, terminate;
//   2. then the managers one at a time, each a full rule-7 removal (drain, etcd
//      leadership away, demote and see it, member remove, node remove, terminate), one
//      membership change per cycle; the leaders and the controller's own node go last.
//      A deletion passes through two managers and one on purpose: rule 2's "never two
//      on the way somewhere" guards a destination, and this one is zero;
//   3. the last manager is drained and terminated with its etcd member and swarm (a
//      one-member raft has no quorum to keep);
//   4. with no instance left, nor a launch the provider may still list, `cluster.release`
//      removes the cluster's keys.
import type { PlanContext } from './context.ts';
import { drainDeadline, emitRemoval } from './removal-chain.ts';
import { orderVictims, zonePopulation } from './choose-victim.ts';
import type { NodeView } from './inventory.ts';
import { unseenLaunches } from './tokens.ts';

export function planDeletion(ctx: PlanContext): void {
  const { inv } = ctx;
  if (!inv.instancesOk) {
    ctx.hold('R1-complete-observation', 'ObservationIncomplete', 'deletion waits: the instance list could not be read');
    return;
  }
  const workers = orderVictims(inv.workers, zonePopulation(inv.workers));
  if (workers.length > 0) {
    for (const w of workers)
      emitRemoval(ctx, w, { rule: 'cascade-delete', reason: `delete the cluster: remove worker ${w.id} (workers first)` });
    return;
  }
  const managers = orderVictims(inv.managers, zonePopulation(inv.managers));
  const [first] = managers;
  if (first && managers.length > 1) {
    emitRemoval(ctx, first, {
      rule: 'cascade-delete',
      reason: `delete the cluster: remove manager ${first.id} (${managers.length - 1} left after it, one membership change at a time)`,
    });
    return;
  }
  if (first) {
    emitLastManagerTeardown(ctx, first);
    return;
  }
  const unseen = unseenLaunches(ctx.snapshot, ctx.now, ctx.spec.healing.nodeStartupTimeoutSeconds * 1000);
  if (unseen.length > 0) {
    ctx.hold(
      'R13-idempotent-journal',
      'WaitingForLaunch',
      `deletion waits: launch(es) ${unseen.map((u) => u.token).join(', ')} may still be listed by the provider, then terminated`,
    );
    return;
  }
  ctx.emit({ kind: 'cluster.release', rule: 'cascade-delete', reason: 'delete the cluster: no node is left, remove its keys' });
}

/** The last node: tasks stopped by a drain, then terminated with its one-member rafts. */
function emitLastManagerTeardown(ctx: PlanContext, n: NodeView): void {
  if (!ctx.inv.complete) {
    ctx.hold('R1-complete-observation', 'ObservationIncomplete', `removing the last manager ${n.id} waits for a complete observation`);
    return;
  }
  const sw = n.swarm;
  if (sw && sw.availability !== 'drain') {
    ctx.emit({
      kind: 'swarm.drain',
      instanceId: n.id,
      nodeId: sw.id,
      rule: 'cascade-delete',
      reason: `delete the cluster: drain the last manager ${n.id} so its tasks stop`,
    });
  }
  if (sw && !n.dead && sw.state === 'ready') {
    const deadline = drainDeadline(ctx, sw.id, n.id, 'swarm.drain');
    ctx.emit({
      kind: 'swarm.waitDrained',
      instanceId: n.id,
      nodeId: sw.id,
      deadline,
      onTimeout: 'proceed',
      rule: 'cascade-delete',
      reason: `let the tasks on ${n.id} stop`,
    });
  }
  ctx.emit({
    kind: 'instance.terminate',
    instanceId: n.id,
    role: n.role,
    final: true,
    rule: 'cascade-delete',
    reason: `delete the cluster: terminate the last manager ${n.id} with its etcd member and swarm`,
  });
}
