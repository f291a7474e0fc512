// Remediation brakes (rule 10), on by default: healing can be switched off; maxUnhealthy
// short-circuits when too many nodes look dead at once (a partition looks like a mass
// failure, and replacing half a cluster would make it worse); a node can carry a skip
// mark or run out of retries; one remediation at a time per role, and the next waits
// until the last replacement has served for minHealthySeconds.
import type { Role } from '../spec/schema.ts';
import { maxUnhealthyCount } from '../spec/defaults.ts';
import type { PlanContext } from './context.ts';
import type { NodeView } from './inventory.ts';
import { nodesOf } from './inventory.ts';

/** The dead nodes of `role` remediation may start on now (at most one), holds recorded. */
export function remediableNodes(ctx: PlanContext, role: Role): NodeView[] {
  const nodes = nodesOf(ctx.inv, role).filter((n) => !n.removing);
  const dead = nodes.filter((n) => n.dead);
  if (dead.length === 0) return [];
  const healing = ctx.spec.healing;
  const what = `${dead.length} unhealthy ${role}${dead.length === 1 ? '' : 's'} (${dead.map((n) => n.id).join(', ')})`;
  if (!healing.enabled) {
    ctx.hold('R10-remediation-brakes', 'HealingDisabled', `${what}: healing is disabled in the spec`);
    return [];
  }
  const desired = role === 'manager' ? ctx.spec.managers.count : ctx.spec.workers.count;
  // Dead nodes the spec does not need (enough healthy ones remain) are a scale-down, not
  // a remediation: no replacement follows, so the brakes do not apply.
  if (nodes.filter((n) => !n.dead && !n.orphan).length >= desired) return dead.filter((n) => !n.control?.skipRemediation);
  const limit = maxUnhealthyCount(healing.maxUnhealthy, Math.max(desired, nodes.length));
  if (dead.length > limit) {
    ctx.hold(
      'R10-remediation-brakes',
      'MaxUnhealthyExceeded',
      `${what} exceed maxUnhealthy ${String(healing.maxUnhealthy)} (${limit}): no remediation, this may be a partition`,
    );
    return [];
  }
  // A dead manager holding an etcd learner holds the one learner slot (rule 6): every
  // join waits for it, so waiting for a booting node would wait for ever. It goes first.
  const blocker = dead.find((n) => n.member?.isLearner === true && !heldBack(n, healing.maxRetriesPerNode));
  if (blocker) return [blocker];
  const booting = nodes.find((n) => !n.dead && !n.orphan && !n.ready);
  if (booting) {
    ctx.hold(
      'R10-remediation-brakes',
      'RemediationInFlight',
      `${what}: waiting until ${booting.id} is healthy before the next remediation`,
    );
    return [];
  }
  const minHealthyMs = healing.minHealthySeconds * 1000;
  const young = nodes.find((n) => n.ready && n.instance.launchedAt + minHealthyMs > ctx.now);
  if (young) {
    ctx.hold('R10-remediation-brakes', 'MinHealthyPeriod', `${what}: ${young.id} has not served ${healing.minHealthySeconds}s yet`);
    return [];
  }
  const out: NodeView[] = [];
  for (const n of dead) {
    if (n.control?.skipRemediation) {
      ctx.hold('R10-remediation-brakes', 'SkipMark', `${n.id} is unhealthy (${n.deadReason ?? ''}) but carries a skip-remediation mark`);
      continue;
    }
    if ((n.control?.remediations ?? 0) >= healing.maxRetriesPerNode) {
      ctx.hold(
        'R10-remediation-brakes',
        'RetriesExhausted',
        `${n.id} was remediated ${n.control?.remediations ?? 0} times (maxRetriesPerNode ${healing.maxRetriesPerNode})`,
      );
      continue;
    }
    out.push(n);
  }
  return out.slice(0, 1);
}

/** The node's own brakes (rule 10): a skip mark, or its remediations used up. */
function heldBack(n: NodeView, maxRetriesPerNode: number): boolean {
  return n.control?.skipRemediation === true || (n.control?.remediations ?? 0) >= maxRetriesPerNode;
}
