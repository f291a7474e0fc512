// One reconcile cycle of one cluster, cluster-api style: observe (failed reads kept as
// data), judge (pure plan), act (steps in order, stopping at the first that does not
// complete), and write status in a deferred block so it is written even when the cycle
// fails. Interrupted journal entries are finished first (resumeEntry), so a controller
// that took over completes what its predecessor started instead of starting it again.
import { isSwarmkeeperError, messageOf, type ErrorCode } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ActDeps, ActShared } from '../act/context.ts';
import { executeStep, resumeEntry, describeStep, type StepOutcome } from '../act/execute-step.ts';
import { refreshSources, type ObserveDeps, type ObserveHints } from '../observe/observe.ts';
import { CycleView } from './cycle-view.ts';
import type { Snapshot } from '../model/snapshot.ts';
import type { PlanResult, Step } from '../plan/steps.ts';
import type { Provider } from '../providers/provider.ts';
import { resolveCluster, type ResolvedSpec } from '../spec/defaults.ts';
import type { Journal } from '../store/journal.ts';
import type { Leadership } from '../store/election.ts';
import type { ClusterStore, LeaderFence } from '../store/port.ts';
import { observeWithPublished } from './published-endpoints.ts';
import { buildStatus, statusWorthWriting } from './status.ts';
import { applyDetectors, type DetectorState } from './detect-marks.ts';
import type { ProgressEvent } from './events.ts';
import type { SwarmClusterStatus } from '../spec/schema.ts';

export type PlanFn = (spec: ResolvedSpec, snapshot: Snapshot, opts: { now: number }) => PlanResult;

/**
 * What every cycle of one controller shares: built once by the Controller
 * (controller.ts), handed to each cycle as it is rather than copied field by field.
 */
export interface LoopContext extends ActShared {
  readonly store: ClusterStore;
  /** The journal itself (ActShared's is the executor's write-only view of it). */
  readonly journal: Journal;
  readonly providerFor: (spec: ResolvedSpec) => Provider;
  readonly plan: PlanFn;
  /** Spec intake: validates the spec key and moves it to last-good (ingestSpec). */
  readonly ingest?: (name: string, fence: LeaderFence) => Promise<unknown>;
  readonly logger: Logger;
  readonly observeTimeoutMs?: number;
  readonly selfInstanceId?: string;
}

/** One cycle: the loop's context and what belongs to this cycle alone. */
export interface CycleDeps {
  readonly loop: LoopContext;
  readonly leadership: Leadership;
  readonly hints: ObserveHints;
  readonly detectors: DetectorState;
  readonly emit: (e: ProgressEvent) => void;
}

export interface CycleResult {
  readonly deleted?: boolean;
  readonly phase?: PlanResult['phase'];
  readonly planned: number;
  readonly executed: number;
  /** A step was refused by its precondition: replan soon. */
  readonly skipped: boolean;
  readonly converged: boolean;
  /** The cycle's observation and plan, for metrics. */
  readonly snapshot?: Snapshot;
  readonly plan?: PlanResult;
  readonly status?: SwarmClusterStatus;
  readonly spec?: ResolvedSpec;
}

/**
 * Past this age the cycle's instance list is listed again before the next step (a step
 * that waited long); younger, steps re-read only the sources they depend on (cycle-view.ts).
 */
const VIEW_MAX_AGE_MS = 30_000;

export async function reconcileCluster(name: string, cycle: string, deps: CycleDeps): Promise<CycleResult> {
  const log = deps.loop.logger.child({ cluster: name, cycle });
  if (deps.loop.ingest) await deps.loop.ingest(name, deps.leadership.fence);
  const stored = await deps.loop.store.get(name);
  if (!stored) return { deleted: true, planned: 0, executed: 0, skipped: false, converged: true };
  const spec = resolveCluster(stored.cluster);
  const fence = deps.leadership.fence;
  let snapshot: Snapshot | undefined;
  let planned: PlanResult | undefined;
  const executed: Step[] = [];
  let skipped = false;
  let error: string | undefined;
  let errorCode: ErrorCode | undefined;
  let status: SwarmClusterStatus | undefined;
  let released = false;
  try {
    const provider = deps.loop.providerFor(spec);
    const observeDeps: ObserveDeps = {
      cluster: name,
      provider,
      peers: deps.loop.peers,
      marks: deps.loop.marks,
      journal: deps.loop.journal,
      now: deps.loop.now,
      timeoutMs: deps.loop.observeTimeoutMs,
      selfInstanceId: deps.loop.selfInstanceId,
      hints: deps.hints,
    };
    const observe = (): Promise<Snapshot> => observeWithPublished(observeDeps, deps.loop.mgmt, deps.loop.prefix);
    const view = new CycleView({
      observe,
      refresh: (base, parts) => refreshSources(observeDeps, base, parts),
      now: deps.loop.now,
      maxAgeMs: VIEW_MAX_AGE_MS,
    });
    // The loop's context is the executor's shared part (LoopContext extends ActShared).
    const act: ActDeps = {
      ...deps.loop,
      cluster: name,
      spec,
      provider,
      fence,
      signal: deps.leadership.signal,
      leader: deps.leadership.identity,
      observe: (step) => view.forStep(step),
      logger: log,
    };

    for (const entry of await deps.loop.journal.inFlight(name)) {
      const out = await resumeEntry(entry, act);
      view.after(entry.step, out.instances);
      report(deps, name, cycle, entry.step, out);
      if (out.status === 'failed') throw out.error ?? new Error(`resuming ${entry.stepKind} failed`);
    }

    snapshot = await observe();
    if (deps.loop.marks) snapshot = await applyDetectors(name, spec, snapshot, deps.loop.marks, deps.detectors, deps.loop.now(), log);
    planned = deps.loop.plan(spec, snapshot, { now: deps.loop.now() });
    log.debug({ phase: planned.phase, steps: planned.steps.length, holds: planned.holds.length }, 'Planned');
    view.start(snapshot);
    for (const step of planned.steps) {
      deps.emit({ type: 'step', cluster: name, cycle, status: 'started', step, message: describeStep(step) });
      const out = await executeStep(step, act);
      view.after(step, out.instances);
      report(deps, name, cycle, step, out);
      if (out.status === 'done') {
        executed.push(step);
        // A released cluster has no keys left: nothing more is written for it.
        if (step.kind === 'cluster.release') {
          released = true;
          break;
        }
        continue;
      }
      if (out.status === 'skipped') {
        skipped = true;
        break;
      }
      throw out.error ?? new Error(`${step.kind} failed`);
    }
  } catch (err) {
    error = messageOf(err);
    errorCode = isSwarmkeeperError(err) ? err.code : undefined;
    log.warn({ err }, 'Reconcile failed');
    throw err;
  } finally {
    if (released) log.info('Cluster released: its nodes are gone and its keys removed');
    status = buildStatus({
      spec,
      previous: stored.status,
      specError: stored.specError,
      snapshot,
      plan: planned,
      executed,
      error,
      errorCode,
      now: deps.loop.now(),
    });
    if (!deps.leadership.signal.aborted && !released && statusWorthWriting(stored.status, status, deps.loop.now())) {
      await deps.loop.store.writeStatus(name, status, fence).catch((e: unknown) => log.warn({ err: e }, 'Writing status failed'));
    }
    deps.emit({
      type: 'cycle',
      cluster: name,
      cycle,
      phase: status.phase ?? 'Pending',
      planned: planned?.steps.length ?? 0,
      executed: executed.length,
      status,
      ...(error ? { error } : {}),
    });
  }
  if (released) return { deleted: true, planned: planned.steps.length, executed: executed.length, skipped: false, converged: true };
  const converged = planned.phase === 'Ready' && planned.steps.length === 0;
  return {
    phase: planned.phase,
    planned: planned.steps.length,
    executed: executed.length,
    skipped,
    converged,
    snapshot,
    plan: planned,
    status,
    spec,
  };
}

function report(deps: CycleDeps, cluster: string, cycle: string, step: Step, out: StepOutcome): void {
  deps.emit({
    type: 'step',
    cluster,
    cycle,
    status: out.status,
    step,
    message: describeStep(step),
    ...(out.result === undefined ? {} : { result: out.result }),
    ...(out.error === undefined ? {} : { error: out.error.message }),
  });
}
