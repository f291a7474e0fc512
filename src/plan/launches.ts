// Launch steps with deterministic client tokens (rule 13, tokens.ts). A launch the
// journal still has in flight is re-issued with its own token (the provider returns the
// first call's instances); a launch done but not listed yet counts as booting.
import type { Role } from '../spec/schema.ts';
import type { PlanContext } from './context.ts';
import type { RuleId } from './steps.ts';
import { tokenMaker, unseenLaunches } from './tokens.ts';

/** Re-issues in-flight launches of `role`; returns how many launches are not listed yet. */
export function resumeLaunches(ctx: PlanContext, role: Role): number {
  const unseen = unseenLaunches(ctx.snapshot, ctx.now, ctx.spec.healing.nodeStartupTimeoutSeconds * 1000).filter((u) => u.role === role);
  for (const u of unseen) {
    if (!u.resume) continue;
    ctx.emit({
      kind: 'instance.launch',
      role,
      count: 1,
      clientToken: u.token,
      configHash: ctx.inv.hashes[role],
      rule: 'R13-idempotent-journal',
      reason: `resume launch ${u.token} left in flight in the journal (same token: never launched twice)`,
    });
  }
  if (unseen.length > 0) ctx.hold('R13-idempotent-journal', 'WaitingForLaunch', `${unseen.length} ${role} launch(es) not listed by the provider yet: ${unseen.map((u) => u.token).join(', ')}`);
  return unseen.length;
}

export interface LaunchIntent {
  readonly reason: string;
  readonly rule: RuleId;
  /** One zone per instance (choose-victim.ts chooseZones); undefined entries: provider's choice. */
  readonly zones: readonly (string | undefined)[];
  readonly maxRoleInstances?: number;
}

/** One launch step per new instance, each its own intent and token. */
export function emitNewLaunches(ctx: PlanContext, role: Role, intent: LaunchIntent): void {
  const configHash = ctx.inv.hashes[role];
  const token = tokenMaker(ctx.spec.name, ctx.spec.generation, role);
  for (const zone of intent.zones) {
    const step = {
      kind: 'instance.launch' as const,
      role,
      count: 1,
      clientToken: token(ctx.peekOrdinal()),
      configHash,
      ...(zone === undefined ? {} : { zone }),
      ...(intent.maxRoleInstances === undefined ? {} : { maxRoleInstances: intent.maxRoleInstances }),
      rule: intent.rule,
      reason: intent.reason,
    };
    if (!ctx.emit(step)) return;
    ctx.takeOrdinal();
  }
}
