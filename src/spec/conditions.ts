// Status conditions, Kubernetes style: type, status, reason (a CamelCase constant from
// REASONS), message, lastTransitionTime. Pure setters: the time comes in as an argument,
// and lastTransitionTime moves only when the status itself changes.
import type { Condition, ConditionType } from './schema.ts';

/** Named reasons, so scripts and alerts can match on them. */
export const REASONS = {
  SpecAccepted: 'SpecAccepted',
  SpecRejected: 'SpecRejected',
  Converged: 'Converged',
  ScalingUp: 'ScalingUp',
  ScalingDown: 'ScalingDown',
  RollingOut: 'RollingOut',
  Remediating: 'Remediating',
  WaitingForNodes: 'WaitingForNodes',
  ObservationIncomplete: 'ObservationIncomplete',
  QuorumLost: 'QuorumLost',
  MaxUnhealthyExceeded: 'MaxUnhealthyExceeded',
  Paused: 'Paused',
  ProviderError: 'ProviderError',
  CapacityExhausted: 'CapacityExhausted',
  NodesUnhealthy: 'NodesUnhealthy',
  Deleting: 'Deleting',
  AsExpected: 'AsExpected',
} as const;

export type Reason = (typeof REASONS)[keyof typeof REASONS];

export interface ConditionInput {
  readonly type: ConditionType;
  readonly status: Condition['status'];
  readonly reason: Reason;
  readonly message: string;
}

/** Returns new conditions with `input` set; order of types is kept stable. */
export function setCondition(conditions: readonly Condition[] | undefined, input: ConditionInput, now: number): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === input.type);
  const previous = i >= 0 ? list[i] : undefined;
  const lastTransitionTime = previous && previous.status === input.status ? previous.lastTransitionTime : new Date(now).toISOString();
  const next: Condition = { ...input, lastTransitionTime };
  if (i >= 0) list[i] = next;
  else list.push(next);
  const order: ConditionType[] = ['Ready', 'Progressing', 'Degraded', 'SpecValid'];
  return list.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
}

export function getCondition(conditions: readonly Condition[] | undefined, type: ConditionType): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
