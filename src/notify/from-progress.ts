// Which controller progress events people hear about. Pure mapping, so what triggers a
// message is table-tested; attachNotifier() connects it to a running controller.
//   step done: instance.terminate of a remediation (rules R10/R11/R6) -> node replaced
//   cycle: a remediation brake holds (R10)                           -> remediation held back
//   cycle: phase Frozen / Degraded QuorumLost, or a quorum hold (R5/R12) -> quorum at risk
//   cycle: SpecValid False                                          -> spec invalid
// Repeats (a hold is seen every cycle) are the Notifier's dedupe window's business.
import type { ProgressEvent } from '../controller/events.ts';
import type { RuleId } from '../plan/steps.ts';
import { getCondition } from '../spec/conditions.ts';
import type { NotificationEvent } from './format.ts';
import type { Notifier } from './notifier.ts';

const REMEDIATION_RULES: ReadonlySet<RuleId> = new Set<RuleId>(['R10-remediation-brakes', 'R11-alerts-are-evidence', 'R6-replace-order']);
const QUORUM_RULES: ReadonlySet<string> = new Set(['R5-projected-quorum', 'R12-quorum-lost-freeze']);

export function notificationsFromProgress(e: ProgressEvent): NotificationEvent[] {
  if (e.type === 'step') {
    if (e.status !== 'done' || e.step.kind !== 'instance.terminate' || !REMEDIATION_RULES.has(e.step.rule)) return [];
    return [{ kind: 'nodeReplaced', cluster: e.cluster, instanceId: e.step.instanceId, role: e.step.role, reason: e.step.reason }];
  }
  if (e.type !== 'cycle') return [];
  const out: NotificationEvent[] = [];
  const holds = e.status.holds ?? [];
  for (const h of holds.filter((x) => x.rule === 'R10-remediation-brakes')) {
    out.push({ kind: 'remediationHeld', cluster: e.cluster, rule: h.rule, reason: h.reason, message: h.message });
  }
  const degraded = getCondition(e.status.conditions, 'Degraded');
  const quorumHold = holds.find((x) => QUORUM_RULES.has(x.rule));
  if (e.phase === 'Frozen' || (degraded?.status === 'True' && degraded.reason === 'QuorumLost')) {
    out.push({
      kind: 'quorumAtRisk',
      cluster: e.cluster,
      message: degraded?.message ?? quorumHold?.message ?? 'quorum lost: membership changes are frozen',
    });
  } else if (quorumHold) {
    out.push({ kind: 'quorumAtRisk', cluster: e.cluster, message: `${quorumHold.reason}: ${quorumHold.message}` });
  }
  const specValid = getCondition(e.status.conditions, 'SpecValid');
  if (specValid?.status === 'False') out.push({ kind: 'specInvalid', cluster: e.cluster, message: specValid.message });
  return out;
}

/** Sends the notifications of every progress event of `controller`; returns a detach function. */
export function attachNotifier(
  controller: { on(ev: 'progress', l: (e: ProgressEvent) => void): unknown; off(ev: 'progress', l: (e: ProgressEvent) => void): unknown },
  notifier: Pick<Notifier, 'notify'>,
): () => void {
  const listener = (e: ProgressEvent): void => {
    for (const n of notificationsFromProgress(e)) notifier.notify(n);
  };
  controller.on('progress', listener);
  return () => {
    controller.off('progress', listener);
  };
}
