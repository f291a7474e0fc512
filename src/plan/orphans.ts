// Orphans (rule 14): instances of the cluster that never joined within
// nodeStartupTimeoutSeconds (no swarm node, or an etcd learner that never started).
// They are marked (so status shows why) and cleaned up: member removed if any, then
// terminated. Nothing is leaked.
import type { PlanContext } from './context.ts';
import { emitRemoval } from './removal-chain.ts';
import type { NodeView } from './inventory.ts';

export function emitOrphanCleanup(ctx: PlanContext, n: NodeView): void {
  if (!ctx.inv.complete) {
    ctx.hold('R1-complete-observation', 'ObservationIncomplete', `orphan ${n.id} is cleaned up once the observation is complete`);
    return;
  }
  const timeout = ctx.spec.healing.nodeStartupTimeoutSeconds;
  const reason = `${n.role} ${n.id} did not join within ${timeout}s of its launch`;
  if (!n.marks.some((m) => m.source === 'detector:startup')) {
    ctx.emit({ kind: 'instance.markOrphan', instanceId: n.id, rule: 'R14-startup-timeout', reason });
  }
  emitRemoval(ctx, n, { rule: 'R14-startup-timeout', reason: `clean up orphan: ${reason}` });
}
