// Re-checks of the swarm steps: role changes, availability, and node removal.
import { swarmFirstWhileEtcdRefuses } from './manager-join.ts';
import { drainSettled } from './removal-chain.ts';
import type { Inventory } from './inventory.ts';
import { describeProjection, isReachableManager, projectChange, swarmQuorum } from './quorum.ts';
import { OK, nodeById, refuse, satisfied, type KindChecks, type PreconditionResult, type StepOf } from './precondition-verdicts.ts';

export const SWARM_CHECKS: KindChecks<
  'swarm.promote' | 'swarm.demote' | 'swarm.drain' | 'swarm.setAvailability' | 'swarm.activate' | 'swarm.waitDrained' | 'swarm.removeNode'
> = {
  'swarm.promote': (step, { inv, snapshot }) => {
    const sw = nodeById(inv, step.nodeId);
    if (!sw) return refuse('R6-replace-order', `swarm node ${step.nodeId} does not exist`);
    if (sw.role === 'manager') return satisfied(`${step.nodeId} is a manager`);
    const n = inv.managers.find((x) => x.id === step.instanceId);
    const swarmFirst = n !== undefined && swarmFirstWhileEtcdRefuses({ inv, snapshot }, n);
    if (!swarmFirst && (!n?.member || n.member.isLearner))
      return refuse('R6-replace-order', `${step.instanceId} is not an etcd voter yet: etcd first, then swarm`);
    if (sw.state !== 'ready' || !inv.swarm) return refuse('R6-replace-order', `${step.nodeId} is not ready`);
    const p = projectChange(swarmQuorum(inv.swarm), { add: { healthy: true } });
    return p.ok ? OK : refuse('R5-projected-quorum', describeProjection('swarm', p));
  },
  'swarm.demote': (step, { inv }) => {
    const sw = nodeById(inv, step.nodeId);
    if (!sw || sw.role === 'worker') return satisfied(`${step.nodeId} is not a manager`);
    if (!inv.swarm) return refuse('R1-complete-observation', 'the swarm could not be read');
    const p = projectChange(swarmQuorum(inv.swarm), { remove: { healthy: isReachableManager(sw) } });
    return p.ok ? OK : refuse('R5-projected-quorum', describeProjection('swarm', p));
  },
  'swarm.drain': (step, { inv }) => checkDrain(step, inv),
  'swarm.setAvailability': (step, { inv }) => {
    const sw = nodeById(inv, step.nodeId);
    if (!sw) return refuse('operator-request', `${step.nodeId} is gone`);
    return sw.availability === step.availability ? satisfied(`${step.nodeId} is ${step.availability} already`) : OK;
  },
  'swarm.activate': (step, { inv }) => {
    const sw = nodeById(inv, step.nodeId);
    if (!sw) return refuse('R2-manager-floor', `${step.nodeId} is gone`);
    return sw.availability === 'active' ? satisfied(`${step.nodeId} is active`) : OK;
  },
  'swarm.waitDrained': (step, { inv }) => {
    const sw = nodeById(inv, step.nodeId);
    if (!sw) return satisfied(`${step.nodeId} is gone`);
    return drainSettled(sw) ? satisfied(`${step.nodeId} runs no tasks and its services' tasks run elsewhere`) : OK;
  },
  'swarm.removeNode': (step, { inv }) => {
    const sw = nodeById(inv, step.nodeId);
    if (!sw) return satisfied(`${step.nodeId} is gone`);
    if (sw.role === 'manager') return refuse('R7-manager-removal-order', `${step.nodeId} is a manager: demote it first`);
    if (!step.force && sw.state !== 'down') return refuse('R8-worker-removal-order', `${step.nodeId} is not down`);
    if (sw.state === 'ready' && sw.availability !== 'drain')
      return refuse('R8-worker-removal-order', `${step.nodeId} is up and not drained: drain it first`);
    const n = inv.managers.find((x) => x.id === step.instanceId);
    if (n?.member) return refuse('R7-manager-removal-order', `${step.instanceId} is still an etcd member`);
    return OK;
  },
};

/** A voluntary drain keeps `minReadyAfter` other ready nodes of the role (maxUnavailable). */
function checkDrain(step: StepOf<'swarm.drain'>, inv: Inventory): PreconditionResult {
  const sw = nodeById(inv, step.nodeId);
  if (!sw) return satisfied(`${step.nodeId} is gone`);
  if (sw.availability === 'drain') return satisfied(`${step.nodeId} is drained`);
  if (step.minReadyAfter === undefined) return OK;
  const n = [...inv.managers, ...inv.workers].find((x) => x.id === step.instanceId);
  const role = n?.role ?? sw.role;
  const readyOthers = (role === 'manager' ? inv.managers : inv.workers).filter((x) => x.ready && x.id !== step.instanceId).length;
  if (n?.ready && readyOthers < step.minReadyAfter)
    return refuse('R9-surge-unavailable', `only ${readyOthers} other ready ${role}s, maxUnavailable needs ${step.minReadyAfter}`);
  return OK;
}
