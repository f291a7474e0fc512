// Launch steps with deterministic client tokens (rule 13, tokens.ts). A launch the
// journal still has in flight is re-issued with its own token and count (the provider
// returns the first call's instances); a launch done but not listed yet counts as
// booting, instance by instance.
//
// New instances of one role bound for the same zone go out as ONE step with a count (a
// batch: one intent, one token): one provider call (RunInstances, or the local
// provider's spawns) instead of one journaled step, with its re-check, per instance.
import type { Role } from '../spec/schema.ts';
import type { PlanContext } from './context.ts';
import type { RuleId } from './steps.ts';
import { tokenMaker, unseenLaunches } from './tokens.ts';

/** Re-issues in-flight launches of `role`; returns how many launched instances are not listed yet. */
export function resumeLaunches(ctx: PlanContext, role: Role): number {
  const unseen = unseenLaunches(ctx.snapshot, ctx.now, ctx.spec.healing.nodeStartupTimeoutSeconds * 1000).filter((u) => u.role === role);
  for (const u of unseen) {
    if (!u.resume) continue;
    ctx.emit({
      kind: 'instance.launch',
      role,
      count: u.batch,
      clientToken: u.token,
      configHash: ctx.inv.hashes[role],
      rule: 'R13-idempotent-journal',
      reason: `resume launch ${u.token} left in flight in the journal (same token: never launched twice)`,
    });
  }
  const missing = unseen.reduce((sum, u) => sum + u.missing, 0);
  if (unseen.length > 0)
    ctx.hold(
      'R13-idempotent-journal',
      'WaitingForLaunch',
      `${missing} ${role} instance(s) of launch(es) ${unseen.map((u) => u.token).join(', ')} not listed by the provider yet`,
    );
  return missing;
}

export interface LaunchIntent {
  readonly reason: string;
  readonly rule: RuleId;
  /** One zone per instance (choose-victim.ts chooseZones); undefined entries: provider's choice. */
  readonly zones: readonly (string | undefined)[];
  readonly maxRoleInstances?: number;
}

/**
 * One launch step per zone (a batch: one intent, one token), zones in the order they
 * first appear: 1,000 workers spread over three zones are three provider calls, not a
 * thousand (a spread alternates zones instance by instance).
 */
export function emitNewLaunches(ctx: PlanContext, role: Role, intent: LaunchIntent): void {
  const configHash = ctx.inv.hashes[role];
  const token = tokenMaker(ctx.spec.name, ctx.spec.generation, role);
  const perZone = new Map<string | undefined, number>();
  for (const zone of intent.zones) perZone.set(zone, (perZone.get(zone) ?? 0) + 1);
  for (const [zone, count] of perZone) {
    const step = {
      kind: 'instance.launch' as const,
      role,
      count,
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

/** The zones new instances may go to: the EC2 subnets, or the sim's zones. */
export function zonesOf(ctx: PlanContext): readonly string[] {
  return ctx.spec.provider.ec2?.subnetIds ?? ctx.spec.provider.sim?.zones ?? [];
}
