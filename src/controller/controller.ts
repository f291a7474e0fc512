// The controller: leader election, a watch on every cluster's spec, a periodic resync,
// and a per-cluster work queue so one cluster is reconciled by one cycle at a time.
// Only the leader reconciles; every write it makes is fenced by its election key, and
// losing leadership aborts the running cycle's signal at once.
//
// Embeddable (the demo runs it in-process): every dependency is injected, start() and
// stop() bracket its life, and 'progress' events report each step and cycle.
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { silentLogger, type Logger } from '../log.ts';
import type { AgentConfigFactory } from '../act/context.ts';
import { PeerClients, type PeerFactories } from '../observe/peer-clients.ts';
import type { ObserveHints } from '../observe/observe.ts';
import type { Provider } from '../providers/provider.ts';
import type { ResolvedSpec } from '../spec/defaults.ts';
import type { LeaderElection, Leadership } from '../store/election.ts';
import type { ManagementLink } from '../store/management.ts';
import { Journal } from '../store/journal.ts';
import type { FencedKv } from '../store/fenced-kv.ts';
import type { Watcher } from '../store/port.ts';
import type { ProgressEvent } from './events.ts';
import { reconcileCluster, type LoopContext, type LoopSettings } from './reconcile.ts';
import { ProviderCache } from './provider-cache.ts';
import { WorkQueue, type RunOutcome } from './work-queue.ts';
import { localAgentConfig } from './agent-config.ts';
import type { DetectorState } from './detect-marks.ts';
import type { LoopMetrics } from './loop-metrics.ts';
import type { CycleResult } from './reconcile.ts';

/** How a controller runs, whoever wires it (wire.ts passes its caller's on as they are). */
export interface ControllerSettings {
  /** Management etcd endpoints as nodes' agents should reach them (local launches). */
  readonly managementEndpoints?: readonly string[];
  /** Prometheus metrics; recorded per cycle when given. */
  readonly metrics?: LoopMetrics;
  readonly agentConfig?: AgentConfigFactory;
  readonly logger?: Logger;
  /** Shown as the leader's value; host:pid:random by default. */
  readonly identity?: string;
  /** Full resync period of a converged cluster (ms). */
  readonly resyncMs?: number;
  /**
   * Re-check period while a cluster is still converging (ms; default: the provider's
   * convergingRecheckMs, else 1000: a cloud API such as DescribeInstances throttles). A converging cycle that ran nothing is waiting on
   * the world (a node booting, a learner catching up): the sooner it looks again, the
   * sooner the next one-at-a-time membership step starts. A cycle is one observation.
   */
  readonly convergingMs?: number;
  readonly electionTtlSeconds?: number;
  readonly now?: () => number;
}

export interface ControllerDeps extends ControllerSettings {
  /** What every cycle is given as it is: the spec store, the planner, marks, intake, step settings. */
  readonly loop: LoopSettings;
  /** The management etcd's election and fenced writes (journal, endpoints). */
  readonly management: ManagementLink;
  readonly prefix: string;
  readonly providerFor: (spec: ResolvedSpec) => Provider;
  readonly peers: PeerFactories;
}

export interface Controller {
  start(): Promise<void>;
  /** Stops acting, resigns leadership, closes clients. Never stops instances. */
  stop(): Promise<void>;
  /** Queues a cycle of `name` now (coalesced with one already queued). */
  reconcileNow(name: string): void;
  isLeader(): boolean;
  on(event: 'progress', listener: (e: ProgressEvent) => void): this;
  off(event: 'progress', listener: (e: ProgressEvent) => void): this;
}

export function createController(deps: ControllerDeps): Controller {
  return new ReconcileController(deps);
}

class ReconcileController extends EventEmitter implements Controller {
  private readonly log: Logger;
  private readonly identity: string;
  private readonly election: LeaderElection;
  private readonly journal: Journal;
  private readonly kv: FencedKv;
  private readonly peers: PeerClients;
  private readonly providers: ProviderCache;
  /** What every cycle shares, built once. */
  private readonly loop: LoopContext;
  private readonly queue: WorkQueue;
  private readonly hints = new Map<string, ObserveHints>();
  private readonly detectors = new Map<string, DetectorState>();
  private watcher: Watcher | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private cycles = 0;
  private started = false;

  constructor(private readonly deps: ControllerDeps) {
    super();
    this.log = deps.logger ?? silentLogger();
    this.identity = deps.identity ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.election = deps.management.election({
      prefix: deps.prefix,
      identity: this.identity,
      ttlSeconds: deps.electionTtlSeconds ?? 10,
      logger: this.log,
    });
    this.kv = deps.management.kv;
    this.journal = new Journal(this.kv, { prefix: deps.prefix });
    this.peers = new PeerClients(deps.peers);
    this.providers = new ProviderCache(deps.providerFor);
    this.loop = {
      ...deps.loop,
      mgmt: this.kv,
      prefix: deps.prefix,
      journal: this.journal,
      peers: this.peers,
      providerFor: (spec) => this.providers.get(spec),
      agentConfig: deps.agentConfig ?? localAgentConfig(deps.managementEndpoints ?? [], deps.prefix),
      logger: this.log,
      now: deps.now ?? Date.now,
    };
    this.queue = new WorkQueue((name) => this.runCycle(name), {
      backoffInitialMs: 500,
      backoffMaxMs: 30_000,
      onError: (name, err, retryInMs) => this.log.warn({ cluster: name, err, retryInMs }, 'Reconcile failed, backing off'),
    });
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.election.on('elected', (l) => this.onElected(l));
    this.election.on('lost', () => {
      this.deps.metrics?.setLeader(false);
    });
    this.election.on('lost', () => this.emitProgress({ type: 'leadership', leader: false, identity: this.identity }));
    // The watch runs on every replica (cheap), but only the leader enqueues work.
    this.watcher = await this.deps.loop.store.watch((e) => {
      if (!this.isLeader()) return;
      if (e.type === 'resync') void this.enqueueAll();
      else this.queue.add(e.name);
    });
    this.election.start();
    const resync = this.deps.resyncMs ?? 30_000;
    this.resyncTimer = setInterval(() => {
      if (this.isLeader()) void this.enqueueAll();
    }, resync);
    this.resyncTimer.unref?.();
    this.log.info({ identity: this.identity }, 'Controller started');
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    // Resign first: it aborts the running cycle's signal, so no new action starts.
    await this.election.stop();
    await this.queue.stop();
    await this.watcher?.close().catch(() => undefined);
    await this.peers.close();
    await this.providers.close();
    this.log.info('Controller stopped');
  }

  reconcileNow(name: string): void {
    this.queue.add(name);
  }

  isLeader(): boolean {
    return this.election.leadership !== undefined;
  }

  private onElected(l: Leadership): void {
    this.deps.metrics?.setLeader(true);
    this.emitProgress({ type: 'leadership', leader: true, identity: l.identity });
    void this.enqueueAll();
  }

  private async enqueueAll(): Promise<void> {
    try {
      for (const c of await this.deps.loop.store.list()) this.queue.add(c.cluster.metadata.name);
    } catch (err) {
      this.log.warn({ err }, 'Listing clusters failed');
    }
  }

  private async runCycle(name: string): Promise<RunOutcome> {
    const leadership = this.election.leadership;
    if (!leadership) return {};
    const cycle = `${(++this.cycles).toString(36)}-${randomBytes(2).toString('hex')}`;
    let hints = this.hints.get(name);
    if (!hints) this.hints.set(name, (hints = {}));
    let detectors = this.detectors.get(name);
    if (!detectors) this.detectors.set(name, (detectors = { memory: {} }));
    const started = performance.now();
    let result: CycleResult;
    try {
      result = await this.reconcile(name, cycle, leadership, hints, detectors);
      // A cycle whose step found its precondition gone counts as skipped, not ok.
      this.recordMetrics(name, result, started, result.skipped ? 'skipped' : 'ok');
    } catch (err) {
      this.deps.metrics?.recordError('reconcile');
      this.deps.metrics?.recordReconcile(name, (performance.now() - started) / 1000, 'error');
      throw err;
    }
    if (result.deleted) {
      this.queue.forget(name);
      this.hints.delete(name);
      this.detectors.delete(name);
      this.deps.metrics?.forgetCluster(name);
      await this.providers.drop(name);
      return {};
    }
    // A paused cluster changes nothing: observing it at the resync interval is enough.
    if (result.phase === 'Paused' && result.executed === 0) return { requeueAfterMs: this.deps.resyncMs ?? 30_000 };
    // Cycles that journaled something keep the journal bounded.
    if (result.executed > 0 || result.skipped) await this.journal.prune(name, leadership.fence).catch(() => undefined);
    // Our own steps just changed the world and the next one starts from observing that:
    // look again almost at once (a short floor keeps a step that changes nothing from
    // spinning).
    if (result.executed > 0) return { requeueAfterMs: 20 };
    const converging = this.deps.convergingMs ?? this.providers.peek(name)?.convergingRecheckMs ?? 1000;
    // A step whose precondition went between the plan and its re-read: the world is
    // moving (a swarm that was being initialised a moment ago); look again no later than
    // a converging cluster would, and at most every 300 ms where that is sooner.
    if (result.skipped) return { requeueAfterMs: Math.min(300, converging) };
    if (!result.converged) return { requeueAfterMs: converging };
    return { requeueAfterMs: this.deps.resyncMs ?? 30_000 };
  }

  private recordMetrics(name: string, r: CycleResult, started: number, outcome: 'ok' | 'skipped'): void {
    const m = this.deps.metrics;
    if (!m || r.deleted) return;
    m.recordReconcile(name, (performance.now() - started) / 1000, outcome);
    if (r.plan) m.recordPlanSteps(name, r.plan.steps);
    if (r.snapshot) m.recordSnapshot(name, r.snapshot);
    if (r.snapshot) m.backups.recordNewest(name, r.snapshot.backup?.newest, r.spec?.backup?.intervalSeconds);
    if (r.status) {
      if (r.status.managers) m.recordDesiredReady(name, 'manager', r.status.managers.desired, r.status.managers.ready);
      if (r.status.workers) m.recordDesiredReady(name, 'worker', r.status.workers.desired, r.status.workers.ready);
    }
  }

  private reconcile(
    name: string,
    cycle: string,
    leadership: Leadership,
    hints: ObserveHints,
    detectors: DetectorState,
  ): Promise<CycleResult> {
    return reconcileCluster(name, cycle, { loop: this.loop, leadership, hints, detectors, emit: (e) => this.emitProgress(e) });
  }

  private emitProgress(e: ProgressEvent): void {
    try {
      this.emit('progress', e);
    } catch (err) {
      this.log.warn({ err }, 'A progress listener threw');
    }
  }
}
