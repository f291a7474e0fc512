// formatPlan(): the plan as people read it, terraform-plan style: one line per step
// with a change symbol, the reason and the rule that allowed it, then every hold with
// the rule that held the change back, then a one-line summary. Pure.
import { MEMBERSHIP_STEP_KINDS, type PlanResult, type Step } from './steps.ts';

const ADD = new Set(['instance.launch', 'etcd.addLearner', 'etcd.promote', 'swarm.promote']);
const REMOVE = new Set(['instance.terminate', 'etcd.removeMember', 'swarm.demote', 'swarm.removeNode', 'cluster.release']);

export function symbolOf(step: Step): '+' | '-' | '~' {
  return ADD.has(step.kind) ? '+' : REMOVE.has(step.kind) ? '-' : '~';
}

/** What the step acts on, in words. */
export function describeTarget(step: Step): string {
  switch (step.kind) {
    case 'instance.launch':
      return `${step.count} ${step.role}${step.count === 1 ? '' : 's'}${step.zone ? ` in ${step.zone}` : ''} (token ${step.clientToken})`;
    case 'etcd.removeMember':
      return step.instanceId ? `${step.instanceId} (member ${step.memberId})` : `member ${step.memberId}`;
    case 'etcd.moveLeader':
      return `member ${step.fromMemberId} -> ${step.toMemberId}`;
    case 'etcd.promote':
      return `${step.instanceId} (member ${step.memberId})`;
    case 'etcd.addLearner':
      return `${step.instanceId} (${step.peerURL})`;
    case 'swarm.removeNode':
      return `${step.instanceId ?? step.nodeId}${step.force ? ' (force)' : ''}`;
    case 'cluster.publishEndpoints':
      return step.clientURLs.join(', ');
    case 'backup.create':
      return `${step.purpose} (etcd snapshot and swarm state)`;
    case 'cluster.release':
      return 'the cluster (its keys)';
    case 'swarm.setAvailability':
      return `${step.instanceId} (availability ${step.availability})`;
    case 'instance.terminate':
      return step.final ? `${step.instanceId} (the last node)` : step.instanceId;
    case 'swarm.waitDrained':
      return `${step.instanceId} (until ${new Date(step.deadline).toISOString()})`;
    default:
      return step.instanceId;
  }
}

export interface FormatOptions {
  readonly cluster: string;
  readonly generation?: number;
}

export function formatPlan(result: PlanResult, opts: FormatOptions): string {
  const out: string[] = [];
  const gen = opts.generation === undefined ? '' : ` (generation ${opts.generation})`;
  out.push(`Cluster ${opts.cluster}${gen}: phase ${result.phase}`);
  out.push('');
  if (result.steps.length === 0) {
    out.push('No changes. The cluster matches its spec, or every change is held back (see below).');
  } else {
    out.push('Steps, in the order the controller runs them (each re-checked on a fresh observation):');
    result.steps.forEach((s, i) => {
      const membership = MEMBERSHIP_STEP_KINDS.has(s.kind) ? ' [membership change]' : '';
      out.push(`  ${String(i + 1).padStart(2)}. ${symbolOf(s)} ${s.kind} ${describeTarget(s)}${membership}`);
      out.push(`        why:  ${s.reason}`);
      out.push(`        rule: ${s.rule}`);
    });
  }
  if (result.holds.length > 0) {
    out.push('');
    out.push('Held back:');
    for (const h of result.holds) out.push(`  ! ${h.rule} ${h.reason}: ${h.message}`);
  }
  const counts = { '+': 0, '-': 0, '~': 0 };
  for (const s of result.steps) counts[symbolOf(s)] += 1;
  out.push('');
  out.push(`Plan: ${counts['+']} to add, ${counts['~']} to change, ${counts['-']} to remove; ${result.holds.length} held back.`);
  return `${out.join('\n')}\n`;
}
