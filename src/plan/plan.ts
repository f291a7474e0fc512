// plan(spec, snapshot, { now }) -> { steps, holds, phase }: pure, synchronous and
// deterministic (no I/O, clock or randomness: eslint holds the line). The executor runs
// the steps in the order given, re-checking each one's precondition on a fresh
// observation (preconditions.ts). Order of the output: manager steps (at most one
// membership change, maybe preceded by its pre-change backup), worker steps, operator
// node requests, the endpoints refresh, then a scheduled backup when one is due
// (backups.ts). A cluster being deleted plans its teardown instead (deletion.ts).
import type { Snapshot } from '../model/snapshot.ts';
import { etcdClientUrl, urlHost } from '../model/snapshot.ts';
import type { ResolvedSpec } from '../spec/defaults.ts';
import { PlanContext, type PlanOptions } from './context.ts';
import { quorumLostReason } from './gates.ts';
import { buildInventory, type Inventory, type NodeView } from './inventory.ts';
import { planScheduledBackup } from './backups.ts';
import { planDeletion } from './deletion.ts';
import { planManagers } from './managers.ts';
import { planNodeRequests } from './node-requests.ts';
import { etcdVoters } from './quorum.ts';
import type { PlanHold, PlanResult } from './steps.ts';
import { planWorkers } from './workers.ts';

export type { PlanOptions } from './context.ts';

/** Where an operator starts after a quorum loss (rule 12). */
export const QUORUM_RUNBOOK = 'docs/runbooks/quorum-lost.md';

export function plan(spec: ResolvedSpec, snapshot: Snapshot, opts: PlanOptions): PlanResult {
  const now = opts.now;
  const inv = buildInventory(spec, snapshot, now);
  const deleting = spec.deletionRequestedAt !== undefined;
  if (spec.paused) {
    const message = `spec.paused is set: observing only, changing nothing${deleting ? ' (the deletion waits too)' : ''}`;
    return { steps: [], holds: [{ rule: 'R10-remediation-brakes', reason: 'Paused', message }], phase: deleting ? 'Deleting' : 'Paused' };
  }
  if (snapshot.recovery?.phase === 'fencing') {
    // `swarmkeeper recover` is terminating the lost nodes and resetting the join records:
    // a launch or a resumed step now would join the old, dead cluster.
    const message = `swarmkeeper recover is restoring backup ${snapshot.recovery.backup}: every change waits until the lost nodes are gone and the join records are reset`;
    return { steps: [], holds: [{ rule: 'R12-quorum-lost-freeze', reason: 'Recovering', message }], phase: 'Frozen' };
  }
  const lost = quorumLostReason(inv, snapshot.publishedClientURLs);
  if (lost) {
    const orphan = deleting ? '; the deletion waits too (or delete with --cascade=orphan and terminate the nodes by hand)' : '';
    const hold: PlanHold = {
      rule: 'R12-quorum-lost-freeze',
      reason: 'QuorumLost',
      message: `${lost}: every automatic change is frozen; wait for the members to come back, or recover from a backup (swarmkeeper recover NAME --from BACKUP) following ${QUORUM_RUNBOOK}${orphan}`,
    };
    return { steps: [], holds: [hold], phase: 'Frozen' };
  }
  const ctx = new PlanContext(spec, snapshot, inv, now);
  if (!inv.complete) {
    const failed = (['instances', 'swarm', 'etcd'] as const).filter((k) => snapshot[k].status !== 'ok');
    ctx.hold('R1-complete-observation', 'ObservationIncomplete', `could not read ${failed.join(', ')}: only safe steps this cycle`);
  }
  if (deleting) {
    planDeletion(ctx);
    return { steps: ctx.steps, holds: ctx.holds, phase: 'Deleting' };
  }
  planManagers(ctx);
  planWorkers(ctx);
  planNodeRequests(ctx);
  emitEndpoints(ctx, snapshot);
  planScheduledBackup(ctx);
  return { steps: ctx.steps, holds: ctx.holds, phase: phaseOf(inv, ctx) };
}

/**
 * Workers' etcd gateways and joining nodes follow keys.endpoints: publish the managers
 * that are both etcd voters and swarm managers (full members) when that set changed. A
 * voter not promoted in the swarm yet stays out: a node told to join the swarm through
 * it would wait on an engine that is no manager (the founder's etcd gets a second voter
 * while it still initialises the swarm).
 */
function emitEndpoints(ctx: PlanContext, snapshot: Snapshot): void {
  if (!ctx.inv.etcd || !ctx.inv.swarm) return;
  // A manager whose last promotion is in this plan counts already, as the voter it will
  // be: a voter's swarm promotion (the step waits until it is a reachable manager), or
  // the etcd promotion of a swarm manager that took its swarm promotion first
  // (manager-join.ts). The publish's precondition checks it again on a fresh observation,
  // so the nodes learn of it a cycle sooner.
  const lastPromotionPlanned = (m: NodeView): boolean =>
    ctx.steps.some(
      (st) => (st.kind === 'swarm.promote' || (st.kind === 'etcd.promote' && m.swarm?.role === 'manager')) && st.instanceId === m.id,
    );
  const urls = desiredEndpoints(
    ctx.inv.managers.flatMap((m) => {
      if (!m.member) return [];
      if (m.fullMember) return [m.member];
      return lastPromotionPlanned(m) ? [{ ...m.member, isLearner: false }] : [];
    }),
  );
  if (urls.length === 0) return;
  const published = [...(snapshot.publishedClientURLs ?? [])].sort();
  if (published.length === urls.length && published.every((u, i) => u === urls[i])) return;
  ctx.emit({
    kind: 'cluster.publishEndpoints',
    clientURLs: urls,
    rule: 'R7-manager-removal-order',
    reason: `etcd voters changed: publish ${urls.length} client URL(s) for the workers' gateways`,
  });
}

export function desiredEndpoints(members: Parameters<typeof etcdVoters>[0]['members']): string[] {
  const urls = etcdVoters({ members, alarms: [] }).map(
    (m) => m.clientURLs[0] ?? (m.peerURLs[0] ? etcdClientUrl(urlHost(m.peerURLs[0])) : ''),
  );
  return [...new Set(urls.filter((u) => u !== ''))].sort();
}

function phaseOf(inv: Inventory, ctx: PlanContext): PlanResult['phase'] {
  if (!inv.managers.some((m) => m.fullMember)) return 'Pending';
  const degraded =
    ctx.holds.some(
      (h) => h.rule !== 'converge' && h.rule !== 'operator-request' && h.reason !== 'WaitingForLaunch' && h.reason !== 'LearnerCatchingUp',
    ) || [...inv.managers, ...inv.workers].some((n) => n.dead);
  if (degraded) return 'Degraded';
  // A backup changes nothing in the cluster: a Ready cluster stays Ready while it runs.
  if (ctx.steps.some((s) => s.kind !== 'backup.create') || ctx.holds.some((h) => h.rule !== 'operator-request')) return 'Provisioning';
  // Nothing to do, but nodes still booting or joining: not Ready yet.
  const all = [...inv.managers, ...inv.workers];
  if (all.some((n) => !n.ready) || inv.managers.length !== ctx.spec.managers.count || inv.workers.length !== ctx.spec.workers.count)
    return 'Provisioning';
  return 'Ready';
}
