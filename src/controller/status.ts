// The status a cycle writes back: judged from the spec, the snapshot, the plan and what
// was executed, with pure condition setters (lastTransitionTime only moves when a
// condition's status changes). Written even when the cycle failed (deferred write in
// reconcile.ts), so `status` always says what the controller last saw.
import { REASONS, setCondition, type Reason } from '../spec/conditions.ts';
import type { ResolvedSpec } from '../spec/defaults.ts';
import type { BackupStatus, Condition, NodeRow, SwarmClusterStatus } from '../spec/schema.ts';
import type { BackupObservation, EtcdMember, Instance, Snapshot, SwarmNode } from '../model/snapshot.ts';
import { urlHost } from '../model/snapshot.ts';
import type { PlanResult, Step } from '../plan/steps.ts';
import type { ErrorCode } from '../errors.ts';
import { QUORUM_RUNBOOK } from '../plan/plan.ts';

export interface StatusInput {
  readonly spec: ResolvedSpec;
  readonly previous?: SwarmClusterStatus;
  readonly specError?: string;
  readonly snapshot?: Snapshot;
  readonly plan?: PlanResult;
  /** Steps this cycle ran to completion. */
  readonly executed: readonly Step[];
  /** Why the cycle failed, if it did. */
  readonly error?: string;
  /** The failure's error code, when it was a SwarmkeeperError (Capacity gets its own reason). */
  readonly errorCode?: ErrorCode;
  readonly now: number;
}

export function buildStatus(input: StatusInput): SwarmClusterStatus {
  const { spec, snapshot, plan, now } = input;
  const nodes = snapshot ? nodeRows(snapshot) : (input.previous?.nodes ?? []);
  const ready = (role: 'manager' | 'worker'): number => nodes.filter((n) => n.role === role && n.healthy && n.swarmRole === role).length;
  const phase = plan?.phase ?? input.previous?.phase ?? 'Pending';
  let conditions: Condition[] = [...(input.previous?.conditions ?? [])];
  const set = (type: Condition['type'], status: Condition['status'], reason: Reason, message: string): void => {
    conditions = setCondition(conditions, { type, status, reason, message }, now);
  };

  if (input.specError) set('SpecValid', 'False', REASONS.SpecRejected, `${input.specError} (the last valid spec stays in force)`);
  else set('SpecValid', 'True', REASONS.SpecAccepted, `generation ${spec.generation} accepted`);

  const pending = plan?.steps ?? [];
  const converged = plan !== undefined && pending.length === 0 && phase === 'Ready' && !input.error;
  const left = (role: 'manager' | 'worker'): number => nodes.filter((n) => n.role === role).length;
  if (phase === 'Deleting')
    set('Ready', 'False', REASONS.Deleting, `deleting: ${left('manager')} manager(s) and ${left('worker')} worker(s) left to take down`);
  else if (converged) set('Ready', 'True', REASONS.Converged, `${spec.managers.count} managers and ${spec.workers.count} workers ready`);
  else
    set(
      'Ready',
      'False',
      spec.paused ? REASONS.Paused : REASONS.WaitingForNodes,
      `managers ${ready('manager')}/${spec.managers.count}, workers ${ready('worker')}/${spec.workers.count} ready`,
    );

  if (pending.length > 0) {
    const reason = progressReason(pending);
    set(
      'Progressing',
      'True',
      reason,
      pending
        .map((s) => s.reason)
        .slice(0, 3)
        .join('; '),
    );
  } else {
    set('Progressing', 'False', REASONS.AsExpected, converged ? 'nothing to do' : 'waiting for the world to catch up');
  }

  const degraded = degradedReason(input);
  if (degraded) set('Degraded', 'True', degraded.reason, degraded.message);
  else set('Degraded', 'False', REASONS.AsExpected, 'all sources observed, no holds');

  return {
    observedGeneration: spec.generation,
    phase,
    conditions,
    managers: { desired: spec.managers.count, ready: ready('manager') },
    workers: { desired: spec.workers.count, ready: ready('worker') },
    nodes,
    holds: (plan?.holds ?? []).map((h) => ({ rule: h.rule, reason: h.reason, message: h.message })),
    ...backupStatus(snapshot?.backup, input.previous?.backup),
    lastReconcileTime: new Date(now).toISOString(),
  };
}

function progressReason(steps: readonly Step[]): Reason {
  if (steps.some((s) => s.rule === 'cascade-delete')) return REASONS.Deleting;
  if (steps.some((s) => s.rule === 'R11-alerts-are-evidence' || s.rule === 'R10-remediation-brakes')) return REASONS.Remediating;
  if (steps.some((s) => s.kind === 'instance.launch')) return REASONS.ScalingUp;
  if (steps.some((s) => s.kind === 'instance.terminate' || s.kind === 'swarm.drain' || s.kind === 'swarm.demote'))
    return REASONS.ScalingDown;
  return REASONS.ScalingUp;
}

function degradedReason(input: StatusInput): { reason: Reason; message: string } | undefined {
  const s = input.snapshot;
  if (input.plan?.phase === 'Frozen') {
    return {
      reason: REASONS.QuorumLost,
      message: `quorum lost: no automatic membership change; swarmkeeper recover NAME --from BACKUP rebuilds from a backup (runbook: ${QUORUM_RUNBOOK})`,
    };
  }
  if (input.error)
    return { reason: input.errorCode === 'Capacity' ? REASONS.CapacityExhausted : REASONS.ProviderError, message: input.error };
  if (s) {
    const down = [
      s.instances.status === 'unavailable' ? s.instances.error : undefined,
      s.swarm.status === 'unavailable' ? s.swarm.error : undefined,
      s.etcd.status === 'unavailable' ? s.etcd.error : undefined,
    ].filter((x): x is string => x !== undefined);
    if (down.length > 0) return { reason: REASONS.ObservationIncomplete, message: down.join('; ') };
  }
  const brake = input.plan?.holds.find((h) => h.rule === 'R10-remediation-brakes');
  if (brake) return { reason: REASONS.MaxUnhealthyExceeded, message: brake.message };
  const hold = input.plan?.holds[0];
  if (hold) return { reason: REASONS.NodesUnhealthy, message: `${hold.reason}: ${hold.message}` };
  return undefined;
}

/** One row per instance: what the provider, the swarm and etcd each say about it. */
export function nodeRows(s: Snapshot): NodeRow[] {
  const instances: readonly Instance[] = s.instances.status === 'ok' ? s.instances.value : (s.instances.partial ?? []);
  const swarmNodes: readonly SwarmNode[] = s.swarm.status === 'ok' ? s.swarm.value.nodes : [];
  const members: readonly EtcdMember[] = s.etcd.status === 'ok' ? s.etcd.value.members : [];
  // Looked up by instance id: one pass each, not one scan per instance (10,000 nodes).
  const nodeOf = new Map<string, SwarmNode>();
  for (const n of swarmNodes) if (n.instanceId !== undefined && !nodeOf.has(n.instanceId)) nodeOf.set(n.instanceId, n);
  const memberOf = new Map<string, EtcdMember>();
  for (const m of members) for (const u of m.peerURLs) if (!memberOf.has(urlHost(u))) memberOf.set(urlHost(u), m);
  const marksOf = new Map<string, string[]>();
  for (const m of s.marks) marksOf.set(m.instanceId, [...(marksOf.get(m.instanceId) ?? []), `${m.source}: ${m.reason}`]);
  return [...instances]
    .sort((a, b) =>
      a.role === b.role ? a.launchedAt - b.launchedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : a.role === 'manager' ? -1 : 1,
    )
    .map((inst) => {
      const node = nodeOf.get(inst.id);
      const member = inst.address === undefined ? undefined : memberOf.get(inst.address);
      const marks = marksOf.get(inst.id) ?? [];
      const etcdOk = inst.role === 'worker' || (member !== undefined && !member.isLearner && member.healthy !== false);
      const healthy = inst.state === 'running' && node?.state === 'ready' && etcdOk && marks.length === 0;
      // Fields assigned one by one (no object spreads: 10,000 rows a cycle), in a fixed order.
      const row: Mutable<NodeRow> = {
        instanceId: inst.id,
        role: inst.role,
        instanceState: inst.state,
        healthy,
        configHash: inst.configHash,
        launchedAt: new Date(inst.launchedAt).toISOString(),
      };
      if (inst.address !== undefined) row.address = inst.address;
      if (inst.zone !== undefined) row.zone = inst.zone;
      if (node) {
        row.swarmNodeId = node.id;
        row.swarmState = node.state;
        row.swarmRole = node.role;
        row.availability = node.availability;
      }
      if (member) {
        row.etcdMemberId = member.id;
        row.etcdMembership = membership(member);
      } else if (inst.role === 'worker') row.etcdMembership = 'gateway';
      if (marks.length > 0) row.marks = marks;
      return row;
    });
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function membership(m: EtcdMember): string {
  if (m.isLearner) return m.name === '' ? 'learner (not started)' : 'learner';
  if (m.healthy === false) return 'voter (unhealthy)';
  return m.leader ? 'voter (leader)' : 'voter';
}

/** The last backup (and a newer failure), from the backup record the cycle observed. */
function backupStatus(seen: BackupObservation | undefined, previous: BackupStatus | undefined): { backup?: BackupStatus } {
  if (!seen) return previous ? { backup: previous } : {};
  const n = seen.newest;
  const f = seen.lastFailure;
  const backup: BackupStatus = {
    ...(n
      ? {
          lastBackup: {
            name: n.name,
            takenAt: new Date(n.takenAt).toISOString(),
            purpose: n.purpose ?? 'scheduled',
            sizeBytes: n.sizeBytes ?? 0,
            durationSeconds: (n.durationMs ?? 0) / 1000,
            ...(n.etcdRevision === undefined ? {} : { etcdRevision: n.etcdRevision }),
          },
        }
      : {}),
    ...(f ? { lastFailure: { at: new Date(f.at).toISOString(), purpose: f.purpose, error: f.error } } : {}),
  };
  return { backup };
}

/** How stale lastReconcileTime may grow while nothing else changes: it still shows the controller is alive. */
export const STATUS_HEARTBEAT_MS = 60_000;

/**
 * Whether a cycle's status is worth a write: something other than lastReconcileTime
 * changed, or the stored one is older than STATUS_HEARTBEAT_MS. A converged or paused
 * cluster then costs no etcd write per cycle (each write is a revision etcd keeps until
 * compaction).
 */
export function statusWorthWriting(previous: SwarmClusterStatus | undefined, next: SwarmClusterStatus, now: number): boolean {
  if (!previous) return true;
  const { lastReconcileTime: before, nodes: nodesBefore, ...restBefore } = previous;
  const { lastReconcileTime: _after, nodes: nodesNext, ...restNext } = next;
  if (!sameRows(nodesBefore ?? [], nodesNext ?? [])) return true;
  if (JSON.stringify(restBefore) !== JSON.stringify(restNext)) return true;
  const at = before === undefined ? Number.NaN : Date.parse(before);
  return !(now - at < STATUS_HEARTBEAT_MS);
}

/**
 * Node rows compared field by field without serialising them: at 10,000 nodes two
 * JSON.stringify calls of the rows cost more than the rest of a cycle's judgement.
 */
function sameRows(a: readonly NodeRow[], b: readonly NodeRow[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++)
    if (!sameRow(a[i] as Readonly<Record<string, unknown>>, b[i] as Readonly<Record<string, unknown>>)) return false;
  return true;
}

function sameRow(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean {
  let keys = 0;
  for (const k in a) {
    const x = a[k];
    if (x === undefined) continue;
    keys += 1;
    const y = b[k];
    if (x === y) continue;
    if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length || x.some((v, j) => v !== y[j])) return false;
  }
  for (const k in b) if (b[k] !== undefined) keys -= 1;
  return keys === 0;
}
