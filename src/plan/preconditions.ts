// checkPrecondition(step, snapshot, now): what the executor re-checks on a FRESH
// observation right before running a step, because the world may have moved since the
// plan. Pure. Three answers: `ok` (run it), `satisfied` (its effect is already there:
// skip it, mark the journal entry done) and `refused` (do not run it; the next cycle
// replans). Checks are the plan's own rules, re-applied to the one step.
import type { Snapshot } from '../model/snapshot.ts';
import type { ResolvedSpec } from '../spec/defaults.ts';
import { inFlightMembershipOps, quorumLostReason } from './gates.ts';
import { buildInventory, type Inventory } from './inventory.ts';
import { refuse, type KindCheck, type KindChecks, type PreconditionResult } from './precondition-verdicts.ts';
import { ETCD_CHECKS } from './preconditions-etcd.ts';
import { INSTANCE_CHECKS } from './preconditions-instances.ts';
import { SWARM_CHECKS } from './preconditions-swarm.ts';
import { DESTRUCTIVE_STEP_KINDS, MEMBERSHIP_STEP_KINDS, type Step, type StepKind } from './steps.ts';
import { targetOf } from './targets.ts';

export type { PreconditionResult };

/**
 * `spec` is optional: without it the checks that need the spec (the surge bound of a
 * launch, orphan timeouts) fall back to the bounds carried by the step itself.
 */
export function checkPrecondition(step: Step, snapshot: Snapshot, now: number, spec?: ResolvedSpec): PreconditionResult {
  const inv = buildInventory(spec ?? PLACEHOLDER_SPEC, snapshot, now);
  const membership = MEMBERSHIP_STEP_KINDS.has(step.kind);
  if (DESTRUCTIVE_STEP_KINDS.has(step.kind) && !inv.complete) return refuse('R1-complete-observation', 'the observation is incomplete');
  if (membership || DESTRUCTIVE_STEP_KINDS.has(step.kind)) {
    const lost = quorumLostReason(inv, snapshot.publishedClientURLs);
    if (lost) return refuse('R12-quorum-lost-freeze', lost);
  }
  if (membership) {
    const other = inFlightMembershipOps(snapshot.operations).find((op) => !(op.stepKind === step.kind && op.target === targetOf(step)));
    if (other) return refuse('R3-one-membership-change', `the journal has ${other.stepKind} ${other.target} in flight`);
  }
  return checkKind(step, inv, snapshot, now, spec);
}

/** Every step kind's own check: the compiler holds the table complete. */
const KIND_CHECKS: KindChecks<StepKind> = { ...INSTANCE_CHECKS, ...ETCD_CHECKS, ...SWARM_CHECKS };

function checkKind(step: Step, inv: Inventory, snapshot: Snapshot, now: number, spec: ResolvedSpec | undefined): PreconditionResult {
  // The table pairs each kind with its own check; TypeScript cannot follow that pairing
  // through an index, so the lookup is widened to the union here.
  const check = KIND_CHECKS[step.kind] as KindCheck<StepKind>;
  return check(step, { inv, snapshot, now, spec });
}

/** Neutral spec for checks made without one: no hash matches, long timeouts. */
const PLACEHOLDER_SPEC: ResolvedSpec = {
  name: '',
  generation: 0,
  managers: { count: 1, instanceType: '', units: [] },
  workers: { count: 0, instanceType: '', units: [] },
  provider: { sim: {} },
  providerName: 'sim',
  rollout: { maxSurge: 1, maxUnavailable: 1, drainTimeoutSeconds: 300 },
  healing: {
    enabled: true,
    unhealthyAfterSeconds: 86400,
    nodeStartupTimeoutSeconds: 86400,
    maxUnhealthy: 0,
    minHealthySeconds: 0,
    maxRetriesPerNode: 0,
  },
  paused: false,
};

export type { StepKind };
