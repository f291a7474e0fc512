// Operator node requests (`swarmkeeper node cordon|drain|uncordon|replace`), read from
// the node controls in the snapshot. cordon, drain and uncordon set the node's swarm
// availability (pause, drain, active); a drain then waits for the node's tasks to move,
// bounded by the drain timeout. A request is carried out only on a whole node the
// planner is not removing, and only from a complete observation (rule 1); a node
// already acted on in this plan waits for the next cycle. replace needs nothing here:
// the inventory counts the node as outdated, so the rollout rules replace it (managers
// add-first, rule 6; workers within maxSurge/maxUnavailable, rule 9).
import type { PlanContext } from './context.ts';
import { drainDeadline, drainSettled } from './removal-chain.ts';
import { targetOf } from './targets.ts';

export function planNodeRequests(ctx: PlanContext): void {
  const acted = new Set(ctx.steps.map(targetOf));
  for (const n of [...ctx.inv.managers, ...ctx.inv.workers]) {
    const want = n.operatorAvailability;
    const sw = n.swarm;
    if (want === undefined || !sw || acted.has(n.id)) continue;
    const action = n.control?.request?.action ?? '';
    if (!ctx.inv.complete) {
      ctx.hold('R1-complete-observation', 'ObservationIncomplete', `${action} of ${n.id} waits for a complete observation`);
      continue;
    }
    if (sw.availability !== want) {
      ctx.emit({
        kind: 'swarm.setAvailability',
        instanceId: n.id,
        nodeId: sw.id,
        availability: want,
        rule: 'operator-request',
        reason: `the operator asked to ${action} ${n.id}: availability ${want}`,
      });
    }
    if (want === 'drain' && sw.state === 'ready' && !drainSettled(sw)) {
      const deadline = drainDeadline(ctx, sw.id, n.id, 'swarm.setAvailability');
      // Past the drain timeout the node stays drained and says so; waiting again each
      // cycle would only spin.
      if (deadline > ctx.now)
        ctx.emit({
          kind: 'swarm.waitDrained',
          instanceId: n.id,
          nodeId: sw.id,
          deadline,
          onTimeout: 'proceed',
          rule: 'operator-request',
          reason: `let tasks move off ${n.id} (operator drain)`,
        });
      else
        ctx.hold(
          'operator-request',
          'TasksRemain',
          `${n.id} is drained but ${sw.runningTasks ?? 'some'} task(s) still run on it after the drain timeout (${ctx.spec.rollout.drainTimeoutSeconds}s): they cannot move elsewhere`,
        );
    }
  }
}
