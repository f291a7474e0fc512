// observeCluster(): one immutable Snapshot of a cluster. The provider's instance list
// comes first (the swarm and etcd are reached through the manager instances); then the
// swarm view, the etcd view, health marks, operator controls and the journal's
// operations are read in parallel, each with a deadline. A source that fails becomes
// `{ status: 'unavailable', error }`: this function never throws, so the planner can
// see what it does not know and hold back destructive steps (rule 1).
import type { Instance, Snapshot, Source, EtcdView, HealthMark, NodeControl, Operation, SwarmNode, SwarmView } from '../model/snapshot.ts';
import type { MarkStore } from '../store/mark-port.ts';
import type { Provider } from '../providers/provider.ts';
import type { Journal } from '../store/journal.ts';
import type { SwarmApi } from '../swarm/port.ts';
import { toOperations } from '../store/journal.ts';
import type { PeerClients } from './peer-clients.ts';
import { readSource, valueOr, withTimeout } from './with-timeout.ts';
import { messageOf } from '../errors.ts';

export interface ObserveDeps {
  readonly cluster: string;
  readonly provider: Provider;
  readonly peers: PeerClients;
  readonly marks?: MarkStore;
  readonly journal?: Pick<Journal, 'list'>;
  readonly now?: () => number;
  /** Deadline per source (ms). */
  readonly timeoutMs?: number;
  readonly selfInstanceId?: string;
  /** Remembers which manager answered last, so the next cycle asks it first. */
  readonly hints?: ObserveHints;
}

export interface ObserveHints {
  swarmManagerId?: string;
}

const DEFAULT_TIMEOUT_MS = 5000;

export async function observeCluster(deps: ObserveDeps): Promise<Snapshot> {
  const now = deps.now ?? Date.now;
  const observedAt = now();
  const ms = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const side = Promise.all([
    readSource('reading health marks', ms, async () => (deps.marks ? deps.marks.listMarks(deps.cluster, observedAt) : [])),
    readSource('reading node controls', ms, async () => (deps.marks ? deps.marks.listControls(deps.cluster) : [])),
    readSource('reading the operations journal', ms, async () => (deps.journal ? toOperations(await deps.journal.list(deps.cluster)) : [])),
  ]);
  const instances = await readSource('listing instances', ms, () => deps.provider.list(deps.cluster));
  const managers = valueOr(instances, []).filter((i) => i.role === 'manager' && (i.state === 'running' || i.state === 'pending'));
  // Without the instance list the managers are unknown: an empty swarm or etcd would be a
  // guess, so both are unavailable too (never "ok, nothing there").
  const unknown = { status: 'unavailable' as const, error: 'the manager instances are unknown (listing instances failed)' };
  const [swarm, etcd, [marks, controls, operations]] = await Promise.all([
    instances.status === 'ok' ? readSwarm(deps, managers, ms) : unknown,
    instances.status === 'ok' ? readEtcd(deps, managers, ms) : unknown,
    side,
  ]);
  return Object.freeze({
    observedAt,
    instances,
    swarm,
    etcd,
    marks: valueOr<HealthMark[]>(marks, []),
    controls: valueOr<NodeControl[]>(controls, []),
    operations: valueOr<Operation[]>(operations, []),
    ...(deps.selfInstanceId === undefined ? {} : { selfInstanceId: deps.selfInstanceId }),
  });
}

/** The sources a step's precondition depends on, re-read before the step runs. */
export interface SourceRefresh {
  readonly swarm?: boolean;
  readonly etcd?: boolean;
  readonly operations?: boolean;
}

/**
 * `base` with only the named sources read again; the instance list (a provider call,
 * rate-limited in the cloud) is kept. The swarm and etcd are reached through the
 * managers `base` lists. Like observeCluster, never throws: a failed read is data.
 */
export async function refreshSources(deps: ObserveDeps, base: Snapshot, parts: SourceRefresh): Promise<Snapshot> {
  const ms = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const managers = valueOr(base.instances, []).filter((i) => i.role === 'manager' && (i.state === 'running' || i.state === 'pending'));
  const known = base.instances.status === 'ok';
  const [swarm, etcd, operations] = await Promise.all([
    parts.swarm && known ? readSwarm(deps, managers, ms) : base.swarm,
    parts.etcd && known ? readEtcd(deps, managers, ms) : base.etcd,
    parts.operations
      ? readSource('reading the operations journal', ms, async () =>
          deps.journal ? toOperations(await deps.journal.list(deps.cluster)) : [],
        )
      : undefined,
  ]);
  return Object.freeze({
    ...base,
    swarm,
    etcd,
    ...(operations === undefined ? {} : { operations: valueOr<Operation[]>(operations, [...base.operations]) }),
  });
}

/**
 * The swarm as a manager sees it. Managers are asked one at a time (last answering one
 * first); an engine that is not (yet) a swarm manager is skipped. When every manager
 * instance answered and none is in a swarm, the swarm is not initialised yet (ok, empty).
 */
async function readSwarm(deps: ObserveDeps, managers: readonly Instance[], ms: number): Promise<Source<SwarmView>> {
  if (managers.length === 0) return { status: 'ok', value: { initialized: false, nodes: [] } };
  const ordered = [...managers].sort((a, b) => rank(a, deps.hints) - rank(b, deps.hints));
  const errors: string[] = [];
  let inactive = 0;
  for (const inst of ordered) {
    try {
      const api = deps.peers.swarm(deps.provider.dockerEndpoint(inst));
      const info = await withTimeout(api.info(), ms, `dockerd of ${inst.id}`);
      if (!info.isManager) {
        if (info.localNodeState === 'inactive') inactive++;
        else errors.push(`${inst.id} is not a swarm manager`);
        continue;
      }
      const nodes = await withTimeout(api.listNodes(), ms, `listing swarm nodes at ${inst.id}`);
      const withTasks = await Promise.all(nodes.map((n) => countTasksIfDraining(api, n, ms)));
      if (deps.hints) deps.hints.swarmManagerId = inst.id;
      return { status: 'ok', value: { initialized: true, nodes: withTasks } };
    } catch (err) {
      errors.push(`${inst.id}: ${messageOf(err)}`);
    }
  }
  if (inactive === managers.length) return { status: 'ok', value: { initialized: false, nodes: [] } };
  return { status: 'unavailable', error: `reading the swarm: no manager answered (${errors.join('; ')})` };
}

/** Tasks are counted only where someone waits for them to move (drained nodes). */
async function countTasksIfDraining(
  api: Pick<SwarmApi, 'runningTasks' | 'tasksNotMoved'>,
  node: SwarmNode,
  ms: number,
): Promise<SwarmNode> {
  if (node.availability !== 'drain' || node.runningTasks !== undefined) return node;
  try {
    const [running, notMoved] = await Promise.all([
      withTimeout(api.runningTasks(node.id), ms, `counting tasks on ${node.id}`),
      withTimeout(api.tasksNotMoved(node.id), ms, `counting tasks displaced from ${node.id}`),
    ]);
    return { ...node, runningTasks: running, tasksNotMoved: notMoved.count, ...(notMoved.why ? { tasksNotMovedWhy: notMoved.why } : {}) };
  } catch {
    return node;
  }
}

function rank(inst: Instance, hints: ObserveHints | undefined): number {
  if (hints?.swarmManagerId === inst.id) return 0;
  return inst.state === 'running' ? 1 : 2;
}

/** The cluster's etcd through the managers' client URLs; empty before any manager exists. */
async function readEtcd(deps: ObserveDeps, managers: readonly Instance[], ms: number): Promise<Source<EtcdView>> {
  if (managers.length === 0) return { status: 'ok', value: { members: [], alarms: [] } };
  const urls = managers.map((m) => deps.provider.etcdClientUrl(m));
  return readSource('reading etcd membership', ms, () => deps.peers.etcd(urls).view());
}
