// Prometheus metrics, on a registry of their own (not prom-client's global one) so two
// controllers in one process (tests, the demo) never collide. The controller calls the
// record* functions; /metrics renders the registry. Names are part of the operator
// interface (alert rules and dashboards match on them): add, never rename.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Snapshot } from '../model/snapshot.ts';
import { etcdQuorum, quorumMargin, swarmQuorum } from '../plan/quorum.ts';
import { createBackupMetrics, type BackupMetrics } from './backup-metrics.ts';
import type { Role } from '../spec/schema.ts';

export const METRIC_NAMES = {
  reconcileTotal: 'swarmkeeper_reconcile_total',
  reconcileDuration: 'swarmkeeper_reconcile_duration_seconds',
  planSteps: 'swarmkeeper_plan_steps_total',
  errors: 'swarmkeeper_errors_total',
  nodes: 'swarmkeeper_nodes',
  nodesDesired: 'swarmkeeper_nodes_desired',
  nodesReady: 'swarmkeeper_nodes_ready',
  leader: 'swarmkeeper_leader',
  etcdQuorumMargin: 'swarmkeeper_etcd_quorum_margin',
  swarmQuorumMargin: 'swarmkeeper_swarm_quorum_margin',
  healthMarks: 'swarmkeeper_health_marks',
  alertsReceived: 'swarmkeeper_alerts_received_total',
  notifications: 'swarmkeeper_notifications_total',
} as const;

export type ReconcileOutcome = 'ok' | 'error' | 'skipped';
export type AlertOutcome = 'marked' | 'cleared' | 'ignored' | 'rejected';
export type NotificationOutcome = 'sent' | 'failed' | 'dropped';

export interface Metrics {
  readonly registry: Registry;
  readonly contentType: string;
  recordReconcile(cluster: string, durationSeconds: number, outcome: ReconcileOutcome): void;
  recordPlanSteps(cluster: string, steps: readonly { readonly kind: string }[]): void;
  /** `source`: where the error came from (etcd, swarm, provider, store, act, ...). */
  recordError(source: string): void;
  /** Nodes by role and state, quorum margins and marks, from one observation. */
  recordSnapshot(cluster: string, snapshot: Snapshot): void;
  recordDesiredReady(cluster: string, role: Role, desired: number, ready: number): void;
  setLeader(isLeader: boolean): void;
  recordAlert(status: 'firing' | 'resolved', outcome: AlertOutcome): void;
  recordNotification(outcome: NotificationOutcome): void;
  readonly backups: BackupMetrics;
  /** Drops every series of a deleted cluster. */
  forgetCluster(cluster: string): void;
  render(): Promise<string>;
}

export interface MetricsOptions {
  /** Node.js process metrics (CPU, memory, event loop lag); on by default. */
  readonly processMetrics?: boolean;
}

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const m = defineMetrics(registry);
  const backups = createBackupMetrics(registry);
  m.leader.set(0);
  const series = seriesTracker();

  return {
    registry,
    contentType: registry.contentType,
    backups,
    recordReconcile(cluster, seconds, outcome) {
      m.reconcileTotal.inc({ cluster, outcome });
      m.reconcileDuration.observe({ cluster }, seconds);
      series.track(m.reconcileTotal, { cluster, outcome });
      series.track(m.reconcileDuration, { cluster });
    },
    recordPlanSteps(cluster, steps) {
      for (const s of steps) {
        m.planSteps.inc({ cluster, kind: s.kind });
        series.track(m.planSteps, { cluster, kind: s.kind });
      }
    },
    recordError(source) {
      m.errors.inc({ source });
    },
    recordSnapshot(cluster, snapshot) {
      recordSnapshotSeries(m, series, cluster, snapshot);
    },
    recordDesiredReady(cluster, role, d, r) {
      m.desired.set({ cluster, role }, d);
      m.ready.set({ cluster, role }, r);
      series.track(m.desired, { cluster, role });
      series.track(m.ready, { cluster, role });
    },
    setLeader(isLeader) {
      m.leader.set(isLeader ? 1 : 0);
    },
    recordAlert(status, outcome) {
      m.alerts.inc({ status, outcome });
    },
    recordNotification(outcome) {
      m.notifications.inc({ outcome });
    },
    forgetCluster(cluster) {
      series.forget(cluster);
      backups.forget(cluster);
    },
    render() {
      return registry.metrics();
    },
  };
}

/** The metric families, registered on `registry`. */
function defineMetrics(registry: Registry) {
  const registers = [registry];
  return { ...defineCycleMetrics(registers), ...defineClusterGauges(registers), ...defineIntakeCounters(registers) };
}

/** What the reconcile loop does: cycles, their duration, the steps planned, errors. */
function defineCycleMetrics(registers: Registry[]) {
  return {
    reconcileTotal: new Counter({
      name: METRIC_NAMES.reconcileTotal,
      help: 'Reconcile cycles run, by outcome',
      labelNames: ['cluster', 'outcome'],
      registers,
    }),
    reconcileDuration: new Histogram({
      name: METRIC_NAMES.reconcileDuration,
      help: 'Time one reconcile cycle took (observe, plan, act)',
      labelNames: ['cluster'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    }),
    planSteps: new Counter({
      name: METRIC_NAMES.planSteps,
      help: 'Steps the planner produced, by kind',
      labelNames: ['cluster', 'kind'],
      registers,
    }),
    errors: new Counter({ name: METRIC_NAMES.errors, help: 'Errors, by the source they came from', labelNames: ['source'], registers }),
  };
}

/** What the last observation of each cluster showed, and whether this replica leads. */
function defineClusterGauges(registers: Registry[]) {
  return {
    nodes: new Gauge({
      name: METRIC_NAMES.nodes,
      help: 'Swarm nodes by role and state (instances not in the swarm count as state "absent")',
      labelNames: ['cluster', 'role', 'state'],
      registers,
    }),
    desired: new Gauge({
      name: METRIC_NAMES.nodesDesired,
      help: 'Nodes the spec asks for, by role',
      labelNames: ['cluster', 'role'],
      registers,
    }),
    ready: new Gauge({ name: METRIC_NAMES.nodesReady, help: 'Nodes ready, by role', labelNames: ['cluster', 'role'], registers }),
    leader: new Gauge({ name: METRIC_NAMES.leader, help: '1 when this replica leads, else 0', registers }),
    etcdMargin: new Gauge({
      name: METRIC_NAMES.etcdQuorumMargin,
      help: 'Healthy etcd voters minus the quorum size: how many more may fail (negative: quorum lost)',
      labelNames: ['cluster'],
      registers,
    }),
    swarmMargin: new Gauge({
      name: METRIC_NAMES.swarmQuorumMargin,
      help: 'Reachable swarm managers minus the quorum size: how many more may fail (negative: quorum lost)',
      labelNames: ['cluster'],
      registers,
    }),
    marks: new Gauge({
      name: METRIC_NAMES.healthMarks,
      help: 'Unexpired health marks, by source',
      labelNames: ['cluster', 'source'],
      registers,
    }),
  };
}

/** What comes in on the webhook and goes out as notifications. */
function defineIntakeCounters(registers: Registry[]) {
  return {
    alerts: new Counter({
      name: METRIC_NAMES.alertsReceived,
      help: 'Alerts received on the webhook, by status and outcome',
      labelNames: ['status', 'outcome'],
      registers,
    }),
    notifications: new Counter({
      name: METRIC_NAMES.notifications,
      help: 'Outgoing notifications, by outcome',
      labelNames: ['outcome'],
      registers,
    }),
  };
}

type DefinedMetrics = ReturnType<typeof defineMetrics>;

type Removable = { remove(labels: Record<string, string>): void };

interface SeriesTracker {
  track(metric: Removable, labels: Record<string, string>): void;
  /** Removes the series written for `cluster` (of `only`, when given). */
  forget(cluster: string, only?: Removable): void;
}

function seriesTracker(): SeriesTracker {
  // prom-client removes a series only by its exact label set, so the sets written per
  // cluster are remembered to drop them when they go stale.
  const written = new Map<Removable, Map<string, Record<string, string>>>();
  const track = (metric: Removable, labels: Record<string, string>) => {
    let m = written.get(metric);
    if (!m) written.set(metric, (m = new Map()));
    m.set(JSON.stringify(labels), labels);
  };
  const forget = (cluster: string, only?: Removable) => {
    for (const [metric, sets] of written) {
      if (only && metric !== only) continue;
      for (const [k, labels] of sets) {
        if (labels.cluster !== cluster) continue;
        metric.remove(labels);
        sets.delete(k);
      }
    }
  };

  return { track, forget };
}

function recordSnapshotSeries(m: DefinedMetrics, series: SeriesTracker, cluster: string, snapshot: Snapshot): void {
  series.forget(cluster, m.nodes);
  for (const [key, n] of countNodes(snapshot)) {
    const [role = '', state = ''] = key.split('/');
    m.nodes.set({ cluster, role, state }, n);
    series.track(m.nodes, { cluster, role, state });
  }
  const margins = quorumMargins(snapshot);
  for (const [gauge, value] of [
    [m.etcdMargin, margins.etcd],
    [m.swarmMargin, margins.swarm],
  ] as const) {
    if (value === undefined) {
      series.forget(cluster, gauge);
      continue;
    }
    gauge.set({ cluster }, value);
    series.track(gauge, { cluster });
  }
  series.forget(cluster, m.marks);
  const bySource = new Map<string, number>();
  for (const mark of snapshot.marks) bySource.set(mark.source, (bySource.get(mark.source) ?? 0) + 1);
  for (const [source, n] of bySource) {
    m.marks.set({ cluster, source }, n);
    series.track(m.marks, { cluster, source });
  }
}

function countNodes(snapshot: Snapshot): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (role: string, state: string) => counts.set(`${role}/${state}`, (counts.get(`${role}/${state}`) ?? 0) + 1);
  const swarmNodes = snapshot.swarm.status === 'ok' ? snapshot.swarm.value.nodes : [];
  for (const n of swarmNodes) add(n.role, n.state);
  if (snapshot.instances.status === 'ok' && snapshot.swarm.status === 'ok') {
    const joined = new Set(swarmNodes.map((n) => n.instanceId));
    for (const i of snapshot.instances.value) if (i.state !== 'terminated' && !joined.has(i.id)) add(i.role, 'absent');
  }
  return counts;
}

/**
 * How many more voters each raft can lose before losing quorum, counted the way the
 * planner counts them (src/plan/quorum.ts). Undefined when the source was not read or
 * the raft has no voters.
 */
export function quorumMargins(snapshot: Pick<Snapshot, 'etcd' | 'swarm'>): { etcd?: number; swarm?: number } {
  const out: { etcd?: number; swarm?: number } = {};
  if (snapshot.etcd.status === 'ok') {
    const margin = quorumMargin(etcdQuorum(snapshot.etcd.value));
    if (margin !== undefined) out.etcd = margin;
  }
  if (snapshot.swarm.status === 'ok') {
    const margin = quorumMargin(swarmQuorum(snapshot.swarm.value));
    if (margin !== undefined) out.swarm = margin;
  }
  return out;
}
