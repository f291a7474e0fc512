// Backups in the plan (design rule 12: keep etcd snapshots to restore from). The planner
// never takes a backup: it emits `backup.create` steps, and what it knows of earlier
// backups comes in as data (Snapshot.backup, the controller's backup record).
//
// - Before every manager membership change (etcd learner add, promote, member remove,
//   swarm promote, demote), the newest backup must cover the CURRENT membership: its
//   fingerprint equals membershipFingerprint() of this observation. When it does not, a
//   pre-change backup step goes in front of the membership step; the executor stops at
//   the first step that fails, so a failed snapshot never lets the change run. Once a
//   pre-change backup of this membership has failed, the change is held (rule
//   R15-backup-before-change) and the snapshot retried every PRE_CHANGE_RETRY_MS, until
//   it succeeds or the operator sets spec.backup.onPreChangeFailure: proceed.
// - Scheduled: one backup every spec.backup.intervalSeconds, after the cluster's own
//   steps; a failed one is retried after SCHEDULED_RETRY_MS (or the interval, if shorter).
// Nothing here runs while the cluster is paused or frozen (plan.ts returns before).
import type { Snapshot } from '../model/snapshot.ts';
import type { ResolvedSpec } from '../spec/defaults.ts';
import type { Inventory } from './inventory.ts';
import type { RuleId, Step } from './steps.ts';
import { targetOf } from './targets.ts';

/** What the backup rules read and write of the plan being built (PlanContext, context.ts, calls them as it adds steps). */
export interface BackupPlanning {
  readonly spec: ResolvedSpec;
  readonly snapshot: Snapshot;
  readonly inv: Pick<Inventory, 'managers' | 'etcd'>;
  readonly now: number;
  readonly steps: Step[];
  hold(rule: RuleId, reason: string, message: string): void;
}

export const PRE_CHANGE_RETRY_MS = 30_000;
export const SCHEDULED_RETRY_MS = 60_000;

/**
 * The raft memberships as one string: etcd member ids (with their learner flag) and the
 * swarm's manager node ids, sorted. Any membership step changes it, so a backup taken
 * under one fingerprint covers exactly the next change from that membership.
 */
export function membershipFingerprint(snapshot: Snapshot): string {
  const etcd = snapshot.etcd.status === 'ok' ? snapshot.etcd.value.members.map((m) => `${m.id}${m.isLearner ? 'L' : 'V'}`).sort() : ['?'];
  const swarm =
    snapshot.swarm.status === 'ok'
      ? snapshot.swarm.value.nodes
          .filter((n) => n.role === 'manager')
          .map((n) => n.id)
          .sort()
      : ['?'];
  return `etcd:${etcd.join(',')};swarm:${swarm.join(',')}`;
}

/**
 * Called for each membership step before it is added. True: add it (a pre-change backup
 * step may have been put in front of it). False: held, with the reason in ctx.holds.
 */
export function preChangeBackupAllows(ctx: BackupPlanning, step: Step): boolean {
  const policy = ctx.spec.backup;
  if (!policy) return true;
  // Before any manager is a full member the cluster is new, or was just restored from a
  // backup: a snapshot would save nothing a backup does not already hold.
  if (!ctx.inv.managers.some((m) => m.fullMember)) return true;
  const membership = membershipFingerprint(ctx.snapshot);
  const seen = ctx.snapshot.backup;
  if (seen?.newest?.membership === membership) return true;
  const failed = seen?.lastFailure;
  if (failed && failed.purpose === 'pre-change' && failed.membership === membership) {
    if (policy.onPreChangeFailure === 'proceed') return true;
    const retryIn = failed.at + PRE_CHANGE_RETRY_MS - ctx.now;
    ctx.hold(
      'R15-backup-before-change',
      'PreChangeBackupFailed',
      `${step.kind} ${targetOf(step)} waits: the etcd snapshot before it failed (${failed.error}); retried ${retryIn > 0 ? `in ${Math.ceil(retryIn / 1000)} s` : 'now'}; set spec.backup.onPreChangeFailure: proceed to change without one`,
    );
    if (retryIn <= 0) emitBackup(ctx, 'pre-change', membership, `retry the etcd snapshot that must precede ${step.kind} ${targetOf(step)}`);
    return false;
  }
  emitBackup(
    ctx,
    'pre-change',
    membership,
    `snapshot etcd before ${step.kind} ${targetOf(step)} (no backup of the current membership yet)`,
  );
  return true;
}

/**
 * The scheduled backup, when the newest one is older than the interval. Not before a
 * manager is a full member: until then the swarm is still being initialised and there is
 * nothing to save.
 */
export function planScheduledBackup(ctx: BackupPlanning): void {
  const policy = ctx.spec.backup;
  if (!policy || !ctx.inv.managers.some((m) => m.fullMember)) return;
  if (!ctx.inv.etcd?.members.some((m) => m.healthy === true && !m.isLearner)) return;
  const intervalMs = policy.intervalSeconds * 1000;
  const seen = ctx.snapshot.backup;
  if (seen?.newest && ctx.now - seen.newest.takenAt < intervalMs) return;
  if (seen?.lastFailure && ctx.now - seen.lastFailure.at < Math.min(SCHEDULED_RETRY_MS, intervalMs)) return;
  const age = seen?.newest ? `the newest is ${Math.round((ctx.now - seen.newest.takenAt) / 1000)} s old` : 'there is none yet';
  emitBackup(ctx, 'scheduled', membershipFingerprint(ctx.snapshot), `scheduled backup every ${policy.intervalSeconds} s: ${age}`);
}

/** At most one backup step per plan. */
function emitBackup(ctx: BackupPlanning, purpose: 'scheduled' | 'pre-change', membership: string, reason: string): void {
  if (ctx.steps.some((s) => s.kind === 'backup.create')) return;
  ctx.steps.push({
    kind: 'backup.create',
    purpose,
    membership,
    rule: purpose === 'pre-change' ? 'R15-backup-before-change' : 'converge',
    reason,
  });
}
