// The planner's working state for one call: the inventory, the steps chosen so far,
// the holds, and the one-membership-change budget (rule 3). Rule modules add steps
// through `emit`, which refuses a second membership step and one that differs from a
// membership operation the journal still has in flight.
//
// Only the steps that change raft membership (MEMBERSHIP_STEP_KINDS: etcd learner add,
// promote, member remove, swarm promote, demote) use the budget. A manager LAUNCH does
// not: under the node join protocol (src/node/agent-decide.ts) a new manager's agent starts no etcd
// member until the controller has added it as a learner, and joins the swarm as a
// worker; launching it changes neither raft. From nothing, every manager is launched
// at once (managers.ts): the init claim is create-if-absent, so exactly one of them
// initialises the cluster and the others wait for their learner entries.
//
// A membership step may be preceded by a pre-change backup step, or held when that
// backup failed (backups.ts).
import type { Snapshot } from '../model/snapshot.ts';
import type { ResolvedSpec } from '../spec/defaults.ts';
import { preChangeBackupAllows } from './backups.ts';
import { inFlightMembershipOps } from './gates.ts';
import type { Inventory } from './inventory.ts';
import { MEMBERSHIP_STEP_KINDS, type PlanHold, type RuleId, type Step } from './steps.ts';
import { targetOf } from './targets.ts';
import { nextOrdinal } from './tokens.ts';

export interface PlanOptions {
  readonly now: number;
}

export class PlanContext {
  readonly steps: Step[] = [];
  readonly holds: PlanHold[] = [];
  /** A membership step is already in this plan. */
  membershipUsed = false;
  /** The cluster is being deleted: its managers go all the way down, through two and one. */
  readonly deleting: boolean;
  private ordinal: number;
  private readonly holdKeys = new Set<string>();

  constructor(
    readonly spec: ResolvedSpec,
    readonly snapshot: Snapshot,
    readonly inv: Inventory,
    readonly now: number,
  ) {
    this.ordinal = nextOrdinal(snapshot);
    this.deleting = spec.deletionRequestedAt !== undefined;
  }

  /** The next unused launch ordinal (tokens.ts); takeOrdinal() uses it up. */
  peekOrdinal(): number {
    return this.ordinal;
  }

  takeOrdinal(): number {
    return this.ordinal++;
  }

  hold(rule: RuleId, reason: string, message: string): void {
    const key = `${rule}\u0000${reason}\u0000${message}`;
    if (this.holdKeys.has(key)) return;
    this.holdKeys.add(key);
    this.holds.push({ rule, reason, message });
  }

  /** Whether a membership step may still be added; records the hold when not. */
  membershipAllowed(step: Step): boolean {
    if (this.membershipUsed) {
      this.hold(
        'R3-one-membership-change',
        'MembershipChangeInFlight',
        `${step.kind} ${targetOf(step)} waits: one membership change at a time`,
      );
      return false;
    }
    const other = inFlightMembershipOps(this.snapshot.operations).find(
      (op) => !(op.stepKind === step.kind && op.target === targetOf(step)),
    );
    if (other) {
      this.hold(
        'R3-one-membership-change',
        'MembershipChangeInFlight',
        `${step.kind} ${targetOf(step)} waits: the journal has ${other.stepKind} ${other.target} in flight`,
      );
      return false;
    }
    return true;
  }

  /** Adds a step; false when a membership step was refused (the caller stops its chain). */
  emit(step: Step): boolean {
    if (MEMBERSHIP_STEP_KINDS.has(step.kind)) {
      if (!this.membershipAllowed(step)) return false;
      // A manager membership change goes only after a snapshot of the current membership.
      if (!preChangeBackupAllows(this, step)) return false;
      this.membershipUsed = true;
    }
    this.steps.push(step);
    return true;
  }
}
