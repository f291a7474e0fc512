// Re-checks of the steps that launch, terminate and release instances.
import type { ResolvedSpec } from '../spec/defaults.ts';
import type { Inventory } from './inventory.ts';
import { OK, refuse, satisfied, type KindChecks, type PreconditionResult, type StepOf } from './precondition-verdicts.ts';

export const INSTANCE_CHECKS: KindChecks<'instance.launch' | 'instance.terminate' | 'instance.markOrphan' | 'cluster.release'> = {
  'instance.launch': (step, { inv, spec }) => checkLaunch(step, inv, spec),
  'instance.terminate': (step, { inv }) => {
    const n = [...inv.managers, ...inv.workers].find((x) => x.id === step.instanceId);
    if (!inv.instancesOk) return refuse('R1-complete-observation', 'the instance list could not be read');
    if (!n) return satisfied(`${step.instanceId} is gone`);
    if (step.final) return checkFinalTerminate(step.instanceId, inv);
    if (n.member)
      return refuse('R7-manager-removal-order', `${step.instanceId} is still etcd member ${n.member.id}: remove the member first`);
    if (n.swarm?.role === 'manager')
      return refuse('R7-manager-removal-order', `${step.instanceId} is still a swarm manager: demote it first`);
    return OK;
  },
  'instance.markOrphan': (step, { inv }) =>
    inv.instancesOk && ![...inv.managers, ...inv.workers].some((x) => x.id === step.instanceId)
      ? satisfied(`${step.instanceId} is gone`)
      : OK,
  'cluster.release': (_step, { inv }) => {
    if (!inv.instancesOk) return refuse('R1-complete-observation', 'the instance list could not be read');
    const left = [...inv.managers, ...inv.workers];
    return left.length === 0 ? OK : refuse('cascade-delete', `${left.length} instance(s) left (${left.map((n) => n.id).join(', ')})`);
  },
};

/**
 * A launch may run long after it was planned (a successor resumes it from the journal):
 * besides the bound the plan gave it, it must fit the spec in force now, or a launch
 * planned for a larger cluster would overshoot a smaller one.
 */
function launchBound(step: StepOf<'instance.launch'>, spec: ResolvedSpec | undefined): number | undefined {
  if (!spec) return step.maxRoleInstances;
  const cap =
    step.role === 'manager' ? spec.managers.count + Math.max(1, spec.rollout.maxSurge) : spec.workers.count + spec.rollout.maxSurge;
  return Math.min(step.maxRoleInstances ?? cap, cap);
}

function checkLaunch(step: StepOf<'instance.launch'>, inv: Inventory, spec: ResolvedSpec | undefined): PreconditionResult {
  if (!inv.instancesOk) return refuse('R1-complete-observation', 'the instance list could not be read');
  const nodes = step.role === 'manager' ? inv.managers : inv.workers;
  if (nodes.some((n) => n.instance.clientToken === step.clientToken)) return satisfied(`instances with token ${step.clientToken} exist`);
  const bound = launchBound(step, spec);
  if (bound !== undefined) {
    const live = nodes.filter((n) => !n.removing && !n.dead && !n.orphan).length;
    if (live + step.count > bound)
      return refuse('R9-surge-unavailable', `${live} live ${step.role}s + ${step.count} would exceed ${bound}`);
  }
  // A manager launch changes no raft membership (the agent waits for its learner entry
  // and joins the swarm as a worker), so managers still joining do not hold it back,
  // not even before the cluster exists: the init claim is create-if-absent, so one
  // manager initialises however many boot together. The count bound above is the guard.
  return OK;
}

/** The last node of a cluster being deleted goes with its rafts, but only as the very last. */
function checkFinalTerminate(instanceId: string, inv: Inventory): PreconditionResult {
  if (inv.spec.deletionRequestedAt === undefined)
    return refuse('cascade-delete', `${instanceId} is terminated with its rafts only when the cluster is being deleted`);
  const others = [...inv.managers, ...inv.workers].filter((n) => n.id !== instanceId);
  return others.length === 0 ? OK : refuse('cascade-delete', `${instanceId} goes last: ${others.length} other instance(s) are left`);
}
