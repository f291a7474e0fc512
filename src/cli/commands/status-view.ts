// What `swarmkeeper status NAME` shows, as data first (the JSON form) and then as text:
// nodes (role, instance id, address, swarm state, etcd membership, health), conditions,
// holds and the most recent operations of the journal. Pure, so it is unit-tested.
import type { SwarmCluster, SwarmClusterStatus } from '../../spec/schema.ts';
import type { JournalEntry } from '../../store/journal.ts';
import { nodeTableLines } from '../node-table.ts';
import { printable, tableLines as table } from '../output.ts';

export interface StatusView {
  readonly name: string;
  readonly generation?: number;
  readonly observedGeneration?: number;
  readonly phase: string;
  readonly specError?: string;
  readonly managers?: { readonly desired: number; readonly ready: number };
  readonly workers?: { readonly desired: number; readonly ready: number };
  readonly nodes: NonNullable<SwarmClusterStatus['nodes']>;
  readonly conditions: NonNullable<SwarmClusterStatus['conditions']>;
  readonly holds: NonNullable<SwarmClusterStatus['holds']>;
  readonly operations: readonly OperationRow[];
  readonly lastReconcileTime?: string;
  readonly backup?: SwarmClusterStatus['backup'];
  /** Operator node requests (`swarmkeeper node ...`) by instance id, e.g. `drain`. */
  readonly requests: Readonly<Record<string, string>>;
}

export interface OperationRow {
  readonly id: string;
  readonly step: string;
  readonly target: string;
  readonly state: string;
  readonly startedAt: string;
  readonly attempts: number;
  readonly result?: string;
  readonly error?: string;
}

export function buildStatusView(
  cluster: SwarmCluster,
  status: SwarmClusterStatus | undefined,
  journal: readonly JournalEntry[],
  opts: { specError?: string; operations?: number; requests?: Readonly<Record<string, string>> } = {},
): StatusView {
  const recent = journal.slice(-(opts.operations ?? 10)).reverse();
  return {
    name: cluster.metadata.name,
    ...(cluster.metadata.generation === undefined ? {} : { generation: cluster.metadata.generation }),
    ...(status?.observedGeneration === undefined ? {} : { observedGeneration: status.observedGeneration }),
    phase: status?.phase ?? 'Unknown',
    ...(opts.specError ? { specError: opts.specError } : {}),
    ...(status?.managers ? { managers: status.managers } : {}),
    ...(status?.workers ? { workers: status.workers } : {}),
    nodes: status?.nodes ?? [],
    requests: opts.requests ?? {},
    conditions: status?.conditions ?? [],
    holds: status?.holds ?? [],
    operations: recent.map((e) => ({
      id: e.id,
      step: e.stepKind,
      target: e.target,
      state: e.state,
      startedAt: new Date(e.startedAt).toISOString(),
      attempts: e.attempts,
      ...(e.result === undefined ? {} : { result: e.result }),
      ...(e.error === undefined ? {} : { error: e.error }),
    })),
    ...(status?.lastReconcileTime ? { lastReconcileTime: status.lastReconcileTime } : {}),
    ...(status?.backup ? { backup: status.backup } : {}),
  };
}

export function renderStatusText(v: StatusView): string {
  const out: string[] = [];
  const gen = v.generation === undefined ? '' : ` (generation ${v.generation}, observed ${v.observedGeneration ?? '-'})`;
  out.push(`Cluster ${v.name}: ${v.phase}${gen}`);
  if (v.managers || v.workers) {
    out.push(
      `Managers ${v.managers?.ready ?? 0}/${v.managers?.desired ?? 0} ready, workers ${v.workers?.ready ?? 0}/${v.workers?.desired ?? 0} ready`,
    );
  }
  if (v.specError) out.push(`Spec rejected: ${printable(v.specError)}`);
  if (v.lastReconcileTime) out.push(`Last reconcile: ${v.lastReconcileTime}`);
  out.push(...backupLines(v.backup));
  out.push('', 'NODES');
  out.push(...nodeTableLines(v.nodes, v.requests));
  out.push('', 'CONDITIONS');
  out.push(
    ...table(
      ['TYPE', 'STATUS', 'REASON', 'MESSAGE'],
      v.conditions.map((c) => [c.type, c.status, c.reason, c.message]),
    ),
  );
  if (v.holds.length > 0) {
    out.push('', 'HOLDS');
    out.push(
      ...table(
        ['RULE', 'REASON', 'MESSAGE'],
        v.holds.map((h) => [h.rule, h.reason, h.message]),
      ),
    );
  }
  out.push('', 'RECENT OPERATIONS');
  out.push(
    ...table(
      ['STARTED', 'STEP', 'TARGET', 'STATE', 'DETAIL'],
      v.operations.map((o) => [o.startedAt, o.step, o.target, o.state, o.error ?? o.result ?? '']),
    ),
  );
  return `${out.join('\n')}\n`;
}

/** The last backup and, when newer, the failure since. */
function backupLines(b: StatusView['backup']): string[] {
  const last = b?.lastBackup;
  const lines = [
    last
      ? `Last backup: ${last.name} (${last.purpose}, ${last.takenAt}, ${last.sizeBytes} bytes, ${last.durationSeconds.toFixed(2)}s)`
      : 'Last backup: none',
  ];
  if (b?.lastFailure) lines.push(`Last backup failure: ${b.lastFailure.at} (${b.lastFailure.purpose}): ${b.lastFailure.error}`);
  return b ? lines : [];
}
