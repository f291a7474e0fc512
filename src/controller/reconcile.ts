// One reconcile cycle of one cluster, cluster-api style: observe (failed reads kept as
// data), judge (pure plan), act (steps in order, stopping at the first that does not
// complete), and write status in a deferred block so it is written even when the cycle
// fails. Interrupted journal entries are finished first (resumeEntry), so a controller
// that took over completes what its predecessor started instead of starting it again.
import { isSwarmkeeperError, messageOf, type ErrorCode } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ActDeps, ActShared, ActTimeouts, BackupTaker, PreconditionCheck } from '../act/context.ts';
import type { MarkStore } from '../store/mark-port.ts';
import { executeStep, resumeEntry, describeStep, type StepOutcome } from '../act/execute-step.ts';
import { refreshSources, type ObserveDeps, type ObserveHints } from '../observe/observe.ts';
import { CycleView } from './cycle-view.ts';
import type { Snapshot } from '../model/snapshot.ts';
import type { PlanResult, Step } from '../plan/steps.ts';
import type { Provider } from '../providers/provider.ts';
import { resolveCluster, type ResolvedSpec } from '../spec/defaults.ts';
import type { Journal } from '../store/journal.ts';
import type { Leadership } from '../store/election.ts';
import type { ClusterStore, LeaderFence, StoredCluster } from '../store/port.ts';
import { observeWithPublished } from './published-endpoints.ts';
import { buildStatus, statusWorthWriting } from './status.ts';
import { applyDetectors, type DetectorState } from './detect-marks.ts';
import type { ProgressEvent } from './events.ts';
import type { SwarmClusterStatus } from '../spec/schema.ts';

export type PlanFn = (spec: ResolvedSpec, snapshot: Snapshot, opts: { now: number }) => PlanResult;

/**
 * The part of the loop's context its caller decides: given once (ControllerDeps.loop)
 * and handed on as it is, beside what the controller builds itself (the journal, the
 * peer clients, the provider cache, the clock).
 */
export interface LoopSettings {
  readonly store: ClusterStore;
  readonly plan: PlanFn;
  readonly checkPrecondition: PreconditionCheck;
  readonly marks?: MarkStore;
  /** Spec intake: validates the spec key and moves it to last-good (ingestSpec). */
  readonly ingest?: (name: string, fence: LeaderFence) => Promise<unknown>;
  /** Runs cluster.release (default: releaseCluster); a spec source with its own object wraps it. */
  readonly release?: ActShared['release'];
  /** Runs backup.create steps (src/backup/take-backup.ts); without it they fail. */
  readonly takeBackup?: BackupTaker;
  readonly timeouts?: Partial<ActTimeouts>;
  readonly observeTimeoutMs?: number;
  /** The node this controller runs on: replaced last (observe reads it). */
  readonly selfInstanceId?: string;
}

/**
 * What every cycle of one controller shares: built once by the Controller
 * (controller.ts), handed to each cycle as it is rather than copied field by field.
 */
export interface LoopContext extends ActShared, LoopSettings {
  /** The journal itself (ActShared's is the executor's write-only view of it). */
  readonly journal: Journal;
  readonly providerFor: (spec: ResolvedSpec) => Provider;
  readonly logger: Logger;
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
  const run: CycleRecord = { executed: [], skipped: false, released: false };
  let planned: PlanResult;
  let status: SwarmClusterStatus;
  try {
    const { observe, view, act } = cycleActors(name, spec, deps, log);
    await resumeInFlight(name, cycle, deps, act, view);
    run.snapshot = await observe();
    if (deps.loop.marks) {
      run.snapshot = await applyDetectors(name, spec, run.snapshot, deps.loop.marks, deps.detectors, deps.loop.now(), log);
    }
    planned = run.planned = deps.loop.plan(spec, run.snapshot, { now: deps.loop.now() });
    log.debug({ phase: planned.phase, steps: planned.steps.length, holds: planned.holds.length }, 'Planned');
    view.start(run.snapshot);
    await executePlan(planned.steps, name, cycle, deps, act, view, run);
  } catch (err) {
    run.error = messageOf(err);
    run.errorCode = isSwarmkeeperError(err) ? err.code : undefined;
    log.warn({ err }, 'Reconcile failed');
    throw err;
  } finally {
    status = await finishCycle(name, cycle, stored, spec, run, deps, log);
  }
  return cycleResult(run, planned, status, spec);
}

/** What a cycle has seen and done so far: its status is built from it even when the cycle fails. */
interface CycleRecord {
  snapshot?: Snapshot;
  planned?: PlanResult;
  readonly executed: Step[];
  skipped: boolean;
  /** cluster.release ran: the cluster has no keys left, nothing more is written for it. */
  released: boolean;
  error?: string;
  errorCode?: ErrorCode;
}

/** How this cycle observes (a view that steps re-read) and acts (the executor's deps). */
function cycleActors(name: string, spec: ResolvedSpec, deps: CycleDeps, log: Logger) {
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
    fence: deps.leadership.fence,
    signal: deps.leadership.signal,
    leader: deps.leadership.identity,
    observe: (step) => view.forStep(step),
    logger: log,
  };
  return { observe, view, act };
}

/** Finishes the journal entries a previous leader (or this one) left in flight. */
async function resumeInFlight(name: string, cycle: string, deps: CycleDeps, act: ActDeps, view: CycleView): Promise<void> {
  for (const entry of await deps.loop.journal.inFlight(name)) {
    const out = await resumeEntry(entry, act);
    view.after(entry.step, out.instances);
    report(deps, name, cycle, entry.step, out);
    if (out.status === 'failed') throw out.error ?? new Error(`resuming ${entry.stepKind} failed`);
  }
}

/** Runs the steps in order, stopping at the first that does not complete (a failure throws). */
async function executePlan(
  steps: readonly Step[],
  name: string,
  cycle: string,
  deps: CycleDeps,
  act: ActDeps,
  view: CycleView,
  run: CycleRecord,
): Promise<void> {
  for (const step of steps) {
    deps.emit({ type: 'step', cluster: name, cycle, status: 'started', step, message: describeStep(step) });
    const out = await executeStep(step, act);
    view.after(step, out.instances);
    report(deps, name, cycle, step, out);
    if (out.status === 'skipped') {
      run.skipped = true;
      return;
    }
    if (out.status !== 'done') throw out.error ?? new Error(`${step.kind} failed`);
    run.executed.push(step);
    if (step.kind === 'cluster.release') {
      run.released = true;
      return;
    }
  }
}

/** The deferred part of a cycle: status built (and written unless leadership or the cluster is gone), the cycle reported. */
async function finishCycle(
  name: string,
  cycle: string,
  stored: StoredCluster,
  spec: ResolvedSpec,
  run: CycleRecord,
  deps: CycleDeps,
  log: Logger,
): Promise<SwarmClusterStatus> {
  if (run.released) log.info('Cluster released: its nodes are gone and its keys removed');
  const status = buildStatus({
    spec,
    previous: stored.status,
    specError: stored.specError,
    snapshot: run.snapshot,
    plan: run.planned,
    executed: run.executed,
    error: run.error,
    errorCode: run.errorCode,
    now: deps.loop.now(),
  });
  if (!deps.leadership.signal.aborted && !run.released && statusWorthWriting(stored.status, status, deps.loop.now())) {
    await deps.loop.store
      .writeStatus(name, status, deps.leadership.fence)
      .catch((e: unknown) => log.warn({ err: e }, 'Writing status failed'));
  }
  deps.emit({
    type: 'cycle',
    cluster: name,
    cycle,
    phase: status.phase ?? 'Pending',
    planned: run.planned?.steps.length ?? 0,
    executed: run.executed.length,
    status,
    ...(run.error ? { error: run.error } : {}),
  });
  return status;
}

/** The result of a cycle that completed (a failed one has thrown). */
function cycleResult(run: CycleRecord, planned: PlanResult, status: SwarmClusterStatus, spec: ResolvedSpec): CycleResult {
  if (run.released) return { deleted: true, planned: planned.steps.length, executed: run.executed.length, skipped: false, converged: true };
  return {
    phase: planned.phase,
    planned: planned.steps.length,
    executed: run.executed.length,
    skipped: run.skipped,
    converged: planned.phase === 'Ready' && planned.steps.length === 0,
    snapshot: run.snapshot,
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
