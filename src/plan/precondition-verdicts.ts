// The vocabulary of the executor's re-check (checkPrecondition): the three verdicts, the
// observation one step is checked against, and the shape of a per-kind check, so each
// family of steps (instances, etcd, swarm) keeps its checks in its own table.
import type { EtcdMember, Snapshot, SwarmNode } from '../model/snapshot.ts';
import type { ResolvedSpec } from '../spec/defaults.ts';
import type { Inventory } from './inventory.ts';
import type { RuleId, Step, StepKind } from './steps.ts';

export type PreconditionResult =
  | { readonly status: 'ok' }
  | { readonly status: 'satisfied'; readonly reason: string }
  | { readonly status: 'refused'; readonly rule: RuleId; readonly reason: string };

export const OK: PreconditionResult = { status: 'ok' };
export const refuse = (rule: RuleId, reason: string): PreconditionResult => ({ status: 'refused', rule, reason });
export const satisfied = (reason: string): PreconditionResult => ({ status: 'satisfied', reason });

/** The fresh observation a step is re-checked against. `spec` is absent when the caller has none. */
export interface CheckInput {
  readonly inv: Inventory;
  readonly snapshot: Snapshot;
  readonly now: number;
  readonly spec: ResolvedSpec | undefined;
}

export type StepOf<K extends StepKind> = Extract<Step, { kind: K }>;
export type KindCheck<K extends StepKind> = (step: StepOf<K>, at: CheckInput) => PreconditionResult;
/** One check per step kind of `K`: a table missing a kind does not compile. */
export type KindChecks<K extends StepKind> = { readonly [P in K]: KindCheck<P> };

export function memberById(inv: Inventory, id: string): EtcdMember | undefined {
  return inv.etcd?.members.find((m) => m.id === id);
}

export function nodeById(inv: Inventory, id: string): SwarmNode | undefined {
  return inv.swarm?.nodes.find((n) => n.id === id);
}
