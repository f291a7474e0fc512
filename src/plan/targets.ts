// What a step acts on, in the same form the operations journal records as
// Operation.target (src/store/journal.ts stepTarget), so the planner can tell a journal
// entry in flight from the step it would plan next.
import type { Step } from './steps.ts';

export function targetOf(step: Step): string {
  switch (step.kind) {
    case 'instance.launch':
      return `${step.role}x${step.count}/${step.clientToken}`;
    case 'etcd.removeMember':
      return step.instanceId ?? step.memberId;
    case 'etcd.moveLeader':
      return step.fromMemberId;
    case 'swarm.removeNode':
      return step.instanceId ?? step.nodeId;
    case 'cluster.publishEndpoints':
      return 'endpoints';
    case 'backup.create':
      return `backup/${step.purpose}`;
    case 'cluster.release':
      return 'cluster';
    default:
      return step.instanceId;
  }
}
