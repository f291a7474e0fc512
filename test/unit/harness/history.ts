// One history through the controller as shipped (sim-controller.ts) on SimWorld and a
// virtual clock: the cluster is created from nothing; then the plan's events (spec
// edits, node deaths, frozen nodes, partitions, controller-only cuts, API errors,
// throttling, lost and duplicated answers, slow boots, controller crashes at any port
// call, leader changes with the deposed leader still running) are interleaved with
// reconcile cycles; then faults stop and the cluster must converge. Invariants are
// checked at every port call, every plan, every precondition check and after every
// cycle (invariants.ts, checks.ts).
import { plan as productionPlan } from '../../../src/plan/plan.ts';
import { checkPrecondition } from '../../../src/plan/preconditions.ts';
import type { CycleResult, PlanFn } from '../../../src/controller/reconcile.ts';
import { MemoryMarkStore } from '../../../src/store/memory-mark-store.ts';
import { DEFAULT_TIMINGS, SeededRandom, SimWorld, type SimTimings } from '../../../src/providers/sim/index.ts';
import type { SimInstance } from '../../../src/providers/sim/model.ts';
import type { PreconditionCheck } from '../../../src/act/context.ts';
import { resolveCluster, type ResolvedSpec } from '../../../src/spec/defaults.ts';
import type { SwarmClusterSpec } from '../../../src/spec/schema.ts';
import { API_VERSION, KIND } from '../../../src/spec/schema.ts';
import { MemoryFencedKv } from '../../../src/store/memory-kv.ts';
import { MemoryClusterStore } from '../../../src/store/memory-store.ts';
import { HistoryChecks, type Violation } from './checks.ts';
import { checkConverged } from './invariants.ts';
import type { HistoryEvent, HistoryPlan } from './history-plan.ts';
import { journalPuts, PREFIX, requeueAfterMs, SimController, type PortCall } from './sim-controller.ts';
import { VirtualTime } from './virtual-time.ts';
import { DESTRUCTIVE_STEP_KINDS, MEMBERSHIP_STEP_KINDS } from '../../../src/plan/steps.ts';
import { clusterKeys } from '../../../src/store/keys.ts';
import { encodeEndpoints, endpointsOf, parseEndpoints } from '../../../src/protocol/cluster-endpoints.ts';
import { urlHost } from '../../../src/model/snapshot.ts';

export const CLUSTER = 'prop';
const START = 1_700_000_000_000;
/**
 * How fast the world moves (the sim's timings) and how soon the controller looks again
 * while converging (ControllerDeps.convergingMs). HistoryPlan.fastJoins: nodes boot in
 * seconds, join the swarm and catch up within about a second, and the controller keeps a
 * cloud controller's 1 s pace, so joins land inside etcd's 5 s window.
 */
interface Pace {
  readonly timings: SimTimings;
  readonly convergingMs: number;
}
const NORMAL_PACE: Pace = { timings: DEFAULT_TIMINGS, convergingMs: 5_000 };
const FAST_PACE: Pace = {
  timings: { ...DEFAULT_TIMINGS, bootMs: [1_000, 5_000], joinMs: [300, 1_500], catchUpMs: [100, 1_000] },
  convergingMs: 1_000,
};
const BOOTSTRAP_CYCLES = 300;
const CONVERGE_CYCLES = 400;
/** How long a dead leader's lease keeps the others waiting (election TTL). */
const LEASE_MS = 10_000;

export interface HistoryResult {
  readonly violations: Violation[];
  /** Whether the end state was recoverable, so convergence was required. */
  readonly convergenceChecked: boolean;
  readonly cycles: number;
  readonly portCalls: number;
  readonly trace: string[];
}

export interface HistoryOptions {
  readonly trace?: boolean;
  /** Replace the planner or the precondition check (a planted bug must be caught). */
  readonly plan?: PlanFn;
  readonly checkPrecondition?: PreconditionCheck;
}

export async function runHistory(plan: HistoryPlan, opts: HistoryOptions = {}): Promise<HistoryResult> {
  const run = new HistoryRun(plan, opts);
  try {
    return await run.run();
  } finally {
    run.close();
  }
}

class HistoryRun {
  private readonly world: SimWorld;
  private readonly pace: Pace;
  private readonly time: VirtualTime;
  private readonly kv = new MemoryFencedKv();
  private readonly store: MemoryClusterStore;
  private readonly marks = new MemoryMarkStore();
  private readonly checks: HistoryChecks;
  private readonly trace: string[] = [];
  private readonly picker: SeededRandom;
  private spec: SwarmClusterSpec;
  private leader: SimController;
  private replicas = 0;
  private cycles = 0;
  private portCalls = 0;
  private faultsOn = false;
  private killBetweenSteps: { role: 'manager' | 'worker'; pick: number } | undefined;
  private leaderChange: { atCall: number; noticeAfterMs: number } | undefined;
  /** The cycles running now: the leader's, and a new leader's started while the old one ran. */
  private running: Array<{ readonly replica: SimController; settled: boolean; result?: CycleResult }> = [];

  constructor(
    private readonly plan: HistoryPlan,
    private readonly opts: HistoryOptions,
  ) {
    this.pace = plan.fastJoins ? FAST_PACE : NORMAL_PACE;
    this.world = new SimWorld({ seed: plan.seed, start: START, timings: this.pace.timings });
    this.picker = new SeededRandom(plan.seed ^ 0x5eed);
    this.time = new VirtualTime(this.world);
    this.store = new MemoryClusterStore(this.kv, PREFIX, Date.now);
    this.checks = new HistoryChecks(
      this.world,
      this.kv,
      () => this.resolved(),
      (line) => this.log(line),
    );
    this.spec = {
      managers: { count: plan.managers },
      workers: { count: plan.workers },
      provider: { sim: { seed: plan.seed, ...(plan.zones ? { zones: ['a', 'b', 'c'] } : {}) } },
      rollout: { maxSurge: plan.maxSurge, maxUnavailable: plan.maxUnavailable, drainTimeoutSeconds: 60 },
      healing: {
        unhealthyAfterSeconds: 30,
        nodeStartupTimeoutSeconds: 600,
        maxUnhealthy: plan.maxUnhealthy,
        minHealthySeconds: plan.minHealthySeconds,
      },
    };
    this.leader = this.newReplica();
  }

  close(): void {
    this.time.uninstall();
  }

  async run(): Promise<HistoryResult> {
    await this.apply(this.spec);
    this.log(`spec ${JSON.stringify(this.spec)}`);
    const bootstrapCycles = BOOTSTRAP_CYCLES * this.cycleBudgetScale();
    if (!(await this.converge(bootstrapCycles))) this.checks.violate('bootstrap', `did not converge within ${bootstrapCycles} cycles`);
    this.faultsOn = true;
    for (const e of this.plan.events) {
      if (this.checks.violations.length > 0) break;
      await this.event(e);
      await this.cycle();
    }
    this.faultsOn = false;
    await this.stopFaults();
    const recoverable = this.world.etcdQuorumHeld() && this.world.swarmQuorumHeld();
    const convergeCycles = CONVERGE_CYCLES * this.cycleBudgetScale();
    if (recoverable && this.checks.violations.length === 0 && !(await this.converge(convergeCycles))) {
      this.checks.violate('convergence', `did not converge within ${convergeCycles} cycles after faults stopped`);
    }
    return {
      violations: this.checks.violations,
      convergenceChecked: recoverable,
      cycles: this.cycles,
      portCalls: this.portCalls,
      trace: this.trace,
    };
  }

  // ---- the controller replicas --------------------------------------------------------

  private newReplica(): SimController {
    this.replicas += 1;
    const plan = this.opts.plan ?? productionPlan;
    const check = this.opts.checkPrecondition ?? checkPrecondition;
    const replica: SimController = new SimController({
      world: this.world,
      kv: this.kv,
      store: this.store,
      marks: this.marks,
      identity: `r${this.replicas}`,
      plan: (spec, snapshot, o) => this.checks.onPlan(spec, snapshot, plan(spec, snapshot, o)),
      checkPrecondition: (step, snapshot, now, spec) =>
        this.checks.onPrecondition(replica, step, snapshot, check(step, snapshot, now, spec)),
      onCall: (call, c) => this.onCall(call, c),
    });
    return replica;
  }

  private onCall(call: PortCall, c: SimController): void {
    this.portCalls += 1;
    this.checks.onCall(call, c);
    if (this.faultsOn && this.killBetweenSteps && isJournalRecord(call)) {
      const { role, pick } = this.killBetweenSteps;
      this.killBetweenSteps = undefined;
      const victim = this.pick((i) => i.alive && i.state === 'running' && i.role === role, pick);
      if (victim) {
        this.log(`fault: kill ${victim} as a step starts`);
        this.world.kill(victim);
      }
    }
    if (this.leaderChange && c === this.leader && c.gate.calls >= this.leaderChange.atCall) {
      const { noticeAfterMs } = this.leaderChange;
      this.leaderChange = undefined;
      this.depose(c, noticeAfterMs);
    }
  }

  /** `old` loses its lease while it runs; it notices only `noticeAfterMs` later. */
  private depose(old: SimController, noticeAfterMs: number): void {
    this.kv.depose(old.leadership.fence);
    setTimeout(() => old.noticeLoss(), noticeAfterMs);
    this.leader = this.newReplica();
    this.log(`leader change: ${old.identity} deposed (notices in ${noticeAfterMs} ms), ${this.leader.identity} leads`);
    // The new leader starts at once, while the deposed one is still in its cycle.
    this.start(this.leader);
  }

  private start(replica: SimController): void {
    const work: (typeof this.running)[number] = { replica, settled: false };
    this.running.push(work);
    void replica
      .cycle(CLUSTER)
      .then(
        (r) => {
          work.result = r;
          this.afterCycle(replica, r);
        },
        (err: unknown) => this.log(`${replica.identity}: cycle failed: ${(err as Error).message}`),
      )
      .finally(() => (work.settled = true));
  }

  /** One cycle of the leader (and of any deposed replica still running), then the requeue wait. */
  private async cycle(): Promise<CycleResult | undefined> {
    this.cycles += 1;
    this.running = [];
    this.start(this.leader);
    await this.time.settle(() => this.running.every((w) => w.settled || w.replica.gate.dead));
    const mine = this.running.find((w) => w.replica === this.leader);
    this.running = [];
    if (this.leader.gate.dead) await this.restartAfterCrash(this.leader);
    this.checks.afterCycle();
    await this.time.pass(requeueAfterMs(mine?.result, this.pace.convergingMs));
    await this.agentsPublish();
    return mine?.result;
  }

  private afterCycle(replica: SimController, r: CycleResult): void {
    if (this.opts.trace && r.snapshot) {
      for (const [name, src] of [
        ['instances', r.snapshot.instances],
        ['swarm', r.snapshot.swarm],
        ['etcd', r.snapshot.etcd],
      ] as const) {
        if (src.status !== 'ok') this.log(`${replica.identity}: ${name} unavailable: ${src.error}`);
      }
    }
    if (this.opts.trace && r.plan)
      this.log(
        `${replica.identity}: ${r.plan.phase}, ${r.planned} planned, ${r.executed} done${r.skipped ? ', skipped' : ''}${r.plan.steps.length === 0 && r.plan.holds.length > 0 ? `; holds: ${r.plan.holds.map((h) => h.reason).join(', ')}` : ''}`,
      );
  }

  /** The crashed replica's lease runs out; a new replica leads and resumes from the journal. */
  private async restartAfterCrash(dead: SimController): Promise<void> {
    this.log(`controller ${dead.identity} crashed at port call ${dead.gate.calls}`);
    await this.time.pass(LEASE_MS);
    this.kv.depose(dead.leadership.fence);
    this.leader = this.newReplica();
  }

  // ---- events -------------------------------------------------------------------------

  private async event(e: HistoryEvent): Promise<void> {
    const w = this.world;
    switch (e.kind) {
      case 'cycle':
        return;
      case 'scale':
        return this.edit({ managers: { ...this.spec.managers, count: e.managers }, workers: { ...this.spec.workers, count: e.workers } });
      case 'rollout': {
        const key = e.role === 'manager' ? 'managers' : 'workers';
        return this.edit({ [key]: { ...this.spec[key], instanceType: `t3.gen${e.generation}` } });
      }
      case 'kill':
        return this.fault(
          this.pick((i) => i.alive && i.state === 'running' && i.role === e.role, e.pick),
          'kill',
          (id) => w.kill(id),
        );
      case 'terminate':
        return this.fault(
          this.pick((i) => i.state !== 'terminated', e.pick),
          'terminate externally',
          (id) => w.terminateExternally(id),
        );
      case 'partition':
        return this.fault(
          this.pick((i) => i.role === 'manager' && i.state === 'running' && !i.partitioned, e.pick),
          'partition',
          (id) => w.partition(id),
        );
      case 'freeze':
        return this.fault(
          this.pick((i) => i.state === 'running' && !i.frozen, e.pick),
          'freeze',
          (id) => w.freeze(id),
        );
      case 'cutController':
        return this.fault(
          this.pick((i) => i.state === 'running' && !i.cutFromController, e.pick),
          'cut from the controller',
          (id) => w.cutFromController(id, true),
        );
      case 'heal':
        this.healAll();
        this.log('fault: partitions, cuts and freezes healed');
        return;
      case 'apiFaults': {
        const p = [0, 0.05, 0.15][e.level] ?? 0;
        w.faults = { apiError: p, throttle: p / 2, lostResponse: p / 2, launchFailure: p, duplicate: p };
        this.log(`fault: api fault rate ${p}`);
        return;
      }
      case 'slowBoots':
        w.slowBoots(e.on ? [200_000, 900_000] : this.pace.timings.bootMs);
        this.log(`fault: slow boots ${e.on ? 'on' : 'off'}`);
        return;
      case 'killBetweenSteps':
        this.killBetweenSteps = { role: e.role, pick: e.pick };
        return;
      case 'crash':
        this.leader.gate.crashAt = this.leader.gate.calls + e.atCall;
        this.leader.gate.applyOnCrash = e.applied;
        this.log(`fault: controller crashes at its ${e.atCall}th port call from now${e.applied ? ', after the call took effect' : ''}`);
        return;
      case 'leaderChange':
        this.leaderChange = { atCall: this.leader.gate.calls + e.atCall, noticeAfterMs: e.noticeAfterMs };
        return;
      case 'wait':
        return this.time.pass(e.seconds * 1000);
    }
  }

  private fault(id: string | undefined, what: string, act: (id: string) => void): void {
    if (id === undefined) return;
    this.log(`fault: ${what} ${id}`);
    act(id);
  }

  private pick(pred: (i: SimInstance) => boolean, n: number): string | undefined {
    const ids = [...this.world.instances.values()]
      .filter(pred)
      .map((i) => i.id)
      .sort();
    return ids.length === 0 ? undefined : ids[n % ids.length];
  }

  private healAll(): void {
    for (const i of this.world.instances.values()) {
      if (i.partitioned) this.world.healPartition(i.id);
      if (i.frozen) this.world.thaw(i.id);
      if (i.cutFromController) this.world.cutFromController(i.id, false);
    }
  }

  /** The cycle budgets are for the normal pace: a faster one gets as much virtual time. */
  private cycleBudgetScale(): number {
    return NORMAL_PACE.convergingMs / this.pace.convergingMs;
  }

  /** Faults stop: API faults end, partitions heal, boots are normal, crashes disarmed. */
  private async stopFaults(): Promise<void> {
    this.world.faults = { apiError: 0, throttle: 0, lostResponse: 0, launchFailure: 0, duplicate: 0 };
    this.world.slowBoots(this.pace.timings.bootMs);
    this.healAll();
    this.killBetweenSteps = undefined;
    this.leaderChange = undefined;
    this.leader.gate.crashAt = undefined;
    this.log('faults stop');
  }

  // ---- spec ---------------------------------------------------------------------------

  private async edit(patch: Partial<SwarmClusterSpec>): Promise<void> {
    const next = { ...this.spec, ...patch };
    try {
      await this.apply(next);
    } catch (err) {
      // The store refuses an invalid spec and the last good one stays in force.
      this.log(`edit refused: ${(err as Error).message.split('\n')[0] ?? ''}`);
      return;
    }
    this.spec = next;
    this.log(
      `edit: managers ${this.spec.managers.count} ${this.spec.managers.instanceType ?? ''} workers ${this.spec.workers.count} ${this.spec.workers.instanceType ?? ''}`,
    );
  }

  private async apply(spec: SwarmClusterSpec): Promise<void> {
    await this.store.apply({ apiVersion: API_VERSION, kind: KIND, metadata: { name: CLUSTER }, spec });
  }

  private resolved(): ResolvedSpec {
    return resolveCluster({ apiVersion: API_VERSION, kind: KIND, metadata: { name: CLUSTER, generation: 1 }, spec: this.spec });
  }

  private async converge(maxCycles: number): Promise<boolean> {
    for (let c = 0; c < maxCycles; c++) {
      const r = await this.cycle();
      if (this.checks.violations.length > 0) return true;
      if (r?.plan?.holds.some((h) => h.reason === 'MaxUnhealthyExceeded') && this.spec.healing?.maxUnhealthy !== '100%') {
        // The operator answers the hold as its message invites: raise the limit.
        await this.edit({ healing: { ...this.spec.healing, maxUnhealthy: '100%' } });
      }
      if (r?.converged && checkConverged(this.world, this.resolved(), CLUSTER, this.published()).length === 0) return true;
    }
    for (const problem of checkConverged(this.world, this.resolved(), CLUSTER, this.published())) this.log(`not converged: ${problem}`);
    return false;
  }

  /** What keys.endpoints says (the management store's truth). */
  private published(): readonly string[] | undefined {
    const key = clusterKeys(PREFIX, CLUSTER).endpoints;
    const text = this.kv.scan(key).find(([k]) => k === key)?.[1];
    return text === undefined ? undefined : parseEndpoints(text, key).etcdClientURLs;
  }

  /** The first manager's agent publishes the endpoints it initialised (create-if-absent), as node agents do. */
  private async agentsPublish(): Promise<void> {
    const urls = this.world.publishedClientURLs;
    if (urls === undefined || this.published() !== undefined) return;
    const key = clusterKeys(PREFIX, CLUSTER).endpoints;
    await this.kv.write(
      [{ kind: 'put', key, value: encodeEndpoints(endpointsOf(urls.map(urlHost), new Date(this.world.now).toISOString())) }],
      undefined,
      'publishing the first endpoints',
    );
  }

  private log(line: string): void {
    if (this.opts.trace) this.trace.push(`[${((this.world.now - START) / 1000).toFixed(1)}s c${this.cycles}] ${line}`);
  }
}

/**
 * The journal record of a destructive or membership step: the moment between the plan
 * and the step's precondition re-check where a fault hurts most (the adversary's timing).
 */
function isJournalRecord(call: PortCall): boolean {
  return journalPuts(call).some(
    (e) => e.state === 'pending' && (DESTRUCTIVE_STEP_KINDS.has(e.stepKind) || MEMBERSHIP_STEP_KINDS.has(e.stepKind)),
  );
}
