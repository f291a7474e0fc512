// One random history of the world, fully determined by its seed: a cluster is created
// from nothing, then spec edits, faults (node deaths, external terminations, manager
// partitions, API errors and throttling, lost answers, launch failures) and controller
// crashes between steps are interleaved with reconcile cycles; then faults stop and the
// cluster must converge. Invariants are checked after every step (invariants.ts).
import { plan } from '../../../src/plan/plan.ts';
import { buildInventory, nodesOf } from '../../../src/plan/inventory.ts';
import { MEMBERSHIP_STEP_KINDS } from '../../../src/plan/steps.ts';
import type { PlanResult, Step } from '../../../src/plan/steps.ts';
import { maxUnhealthyCount, resolveSpec, type ResolvedSpec } from '../../../src/spec/defaults.ts';
import type { SwarmClusterSpec } from '../../../src/spec/schema.ts';
import { SeededRandom, SimWorld } from '../../../src/providers/sim/index.ts';
import type { Snapshot } from '../../../src/model/snapshot.ts';
import { HarnessDetector } from './detector.ts';
import { HarnessExecutor } from './executor.ts';
import { observeSim } from './observe-sim.ts';
import { checkConverged, checkStepBounds, type Violation } from './invariants.ts';

export const CLUSTER = 'prop';
const CYCLE_MS = 10_000;
export const BOOTSTRAP_CYCLES = 200;
export const CONVERGE_CYCLES = 300;

export interface HistoryResult {
  readonly seed: number;
  readonly violations: Violation[];
  /** Whether the end state was recoverable, so convergence was required. */
  readonly convergenceChecked: boolean;
  /** Why convergence was not required (quorum lost by faults: the planner must freeze). */
  readonly unrecoverable?: string;
  readonly cycles: number;
  readonly trace: string[];
}

export interface HistoryOptions {
  readonly trace?: boolean;
  /** Replaces plan() (to show a planted bug is caught). */
  readonly planner?: typeof plan;
}

export async function runHistory(seed: number, opts: HistoryOptions = {}): Promise<HistoryResult> {
  return new HistoryRun(seed, opts).run();
}

class HistoryRun {
  private readonly rng: SeededRandom;
  private readonly world: SimWorld;
  private readonly detector = new HarnessDetector();
  private readonly executor: HarnessExecutor;
  private readonly violations: Violation[] = [];
  private readonly trace: string[] = [];
  /** Instances each client token asked for (a batch launch asks for several under one token). */
  private readonly launchCounts = new Map<string, number>();
  private spec: SwarmClusterSpec;
  private generation = 1;
  private resolved: ResolvedSpec;
  private cycles = 0;
  private faultsOn = false;
  private crashAt: number | undefined;
  private readonly planner: typeof plan;
  private unrecoverable: string | undefined;

  constructor(
    private readonly seed: number,
    private readonly opts: HistoryOptions,
  ) {
    this.rng = new SeededRandom(seed);
    this.world = new SimWorld({ random: new SeededRandom(seed ^ 0x5eed), start: 1_700_000_000_000 });
    this.executor = new HarnessExecutor(this.world, () => this.observe());
    this.planner = opts.planner ?? plan;
    const surge = this.rng.int(0, 2);
    const unavailable = this.rng.int(surge === 0 ? 1 : 0, 2);
    const zones = this.rng.chance(0.5) ? ['a', 'b', 'c'] : [];
    this.spec = {
      managers: { count: this.rng.pick([1, 3, 3, 5] as const) ?? 3 },
      workers: { count: this.rng.int(0, 5) },
      provider: { sim: { seed, ...(zones.length > 0 ? { zones } : {}) } },
      rollout: { maxSurge: surge, maxUnavailable: unavailable, drainTimeoutSeconds: 60 },
      healing: { unhealthyAfterSeconds: 30, nodeStartupTimeoutSeconds: 600, maxUnhealthy: this.rng.pick(['40%', '100%', 2] as const) ?? '100%', minHealthySeconds: this.rng.pick([0, 30]) ?? 0 },
    };
    this.resolved = resolveSpec(CLUSTER, this.generation, this.spec);
  }

  async run(): Promise<HistoryResult> {
    this.log(`spec ${JSON.stringify(this.spec)}`);
    // 1. From nothing to the spec, no faults.
    if (!(await this.converge(BOOTSTRAP_CYCLES))) this.violate('bootstrap', `did not converge within ${BOOTSTRAP_CYCLES} cycles`);
    // 2. Random events interleaved with cycles.
    this.faultsOn = true;
    const events = this.rng.int(5, 25);
    for (let k = 0; k < events && this.violations.length === 0; k++) await this.randomEvent();
    // 3. Faults stop: partitions heal, API faults end; the cluster must converge.
    this.faultsOn = false;
    this.world.faults = { apiError: 0, throttle: 0, lostResponse: 0, launchFailure: 0 };
    for (const i of this.world.instances.values()) if (i.partitioned) this.world.healPartition(i.id);
    await this.resume();
    const recoverable = this.recoverable();
    if (recoverable && this.violations.length === 0 && !(await this.converge(CONVERGE_CYCLES))) {
      this.violate('convergence', `did not converge within ${CONVERGE_CYCLES} cycles after faults stopped`);
    }
    if (!recoverable) await this.checkFrozenSafe();
    return { seed: this.seed, violations: this.violations, convergenceChecked: recoverable, unrecoverable: this.unrecoverable, cycles: this.cycles, trace: this.trace };
  }

  private async randomEvent(): Promise<void> {
    const r = this.rng.next();
    const w = this.world;
    if (r < 0.4) {
      await this.cycle();
      return;
    }
    if (r < 0.5) {
      this.edit({ managers: { ...this.spec.managers, count: this.rng.pick([1, 3, 5] as const) ?? 3 }, workers: { ...this.spec.workers, count: this.rng.int(0, 6) } });
    } else if (r < 0.58) {
      const role = this.rng.chance(0.5) ? 'managers' : 'workers';
      this.edit({ [role]: { ...this.spec[role], instanceType: `t3.gen${this.rng.int(1, 9)}` } });
    } else if (r < 0.66) {
      // Mostly workers: a history that kills a majority of managers can only freeze.
      const role = this.rng.chance(0.3) ? 'manager' : 'worker';
      const victim = this.pickInstance((i) => i.alive && i.state === 'running' && i.role === role);
      if (victim) {
        this.log(`fault: kill ${victim}`);
        w.kill(victim);
      }
    } else if (r < 0.71) {
      const victim = this.pickInstance((i) => i.state !== 'terminated');
      if (victim) {
        this.log(`fault: terminate ${victim} externally`);
        w.terminateExternally(victim);
      }
    } else if (r < 0.76) {
      const victim = this.pickInstance((i) => i.role === 'manager' && i.state === 'running' && !i.partitioned);
      if (victim) {
        this.log(`fault: partition ${victim}`);
        w.partition(victim);
      }
    } else if (r < 0.81) {
      for (const i of w.instances.values()) if (i.partitioned) w.healPartition(i.id);
      this.log('fault: partitions healed');
    } else if (r < 0.89) {
      this.crashAt = this.rng.int(0, 3);
      this.log(`fault: controller crashes at step ${this.crashAt} of the next cycle`);
    } else if (r < 0.95) {
      const level = this.rng.pick([0, 0.05, 0.15]) ?? 0;
      w.faults = { apiError: level, throttle: level / 2, lostResponse: level / 2, launchFailure: level };
      this.log(`fault: api fault rate ${level}`);
    } else {
      w.advance(this.rng.int(10, 120) * 1000);
    }
    await this.cycle();
  }

  private edit(patch: Partial<SwarmClusterSpec>): void {
    this.spec = { ...this.spec, ...patch };
    this.generation += 1;
    this.resolved = resolveSpec(CLUSTER, this.generation, this.spec);
    this.log(`edit gen ${this.generation}: managers ${this.spec.managers.count} ${this.spec.managers.instanceType ?? ''} workers ${this.spec.workers.count} ${this.spec.workers.instanceType ?? ''}`);
  }

  private pickInstance(pred: (i: import('../../../src/providers/sim/model.ts').SimInstance) => boolean): string | undefined {
    const ids = [...this.world.instances.values()].filter(pred).map((i) => i.id).sort();
    return this.rng.pick(ids);
  }

  async observe(): Promise<Snapshot> {
    const marks = this.executor.orphanMarks.filter((m) => this.world.instances.get(m.instanceId)?.state !== 'terminated');
    const snap = await observeSim(this.world, CLUSTER, { marks: [], operations: this.executor.operations() });
    return { ...snap, marks: this.detector.marks(snap, marks) };
  }

  /** One reconcile cycle: observe, plan, run the steps; then time passes. */
  private async cycle(): Promise<PlanResult> {
    this.cycles += 1;
    const snapshot = await this.observe();
    const result = this.planner(this.resolved, snapshot, { now: this.world.now });
    this.checkShortCircuit(snapshot, result);
    // Raft membership changes only: a manager launch changes neither raft (its agent
    // waits for its learner entry and joins the swarm as a worker), so several may share
    // a plan; their number is held by the surge bound (checkStepBounds).
    const membership = result.steps.filter((s) => MEMBERSHIP_STEP_KINDS.has(s.kind));
    if (membership.length > 1) this.violate('one-membership-change', `plan holds ${membership.length} membership steps: ${membership.map(describe).join('; ')}`);
    if (this.opts.trace && result.holds.length > 0 && result.steps.length === 0) this.log(`holds: ${result.holds.map((h) => h.message).join(' | ')}`);
    const crashAt = this.crashAt;
    this.crashAt = undefined;
    for (const [i, step] of result.steps.entries()) {
      if (crashAt === i) {
        const entry = this.executor.record(step);
        if (this.rng.chance(0.5)) await this.executor.run(this.resolved, entry, (s, fresh) => this.checkBounds(s, fresh));
        this.executor.setState(entry, 'running');
        this.log(`crash after journaling ${describe(step)}`);
        await this.resume();
        break;
      }
      if (this.faultsOn) this.maybeFaultBetweenSteps();
      const entry = this.executor.record(step);
      const outcome = await this.executor.run(this.resolved, entry, (s, fresh) => this.checkBounds(s, fresh));
      if (this.opts.trace) this.log(`  ${describe(step)} -> ${outcome}`);
      this.checkAfterStep(step);
      if (outcome === 'refused' || outcome === 'failed') break;
    }
    this.world.advance(CYCLE_MS);
    return result;
  }

  /** A restarted controller finishes the journal's in-flight entries first (rule 13). */
  private async resume(): Promise<void> {
    for (const entry of this.executor.journal.filter((e) => e.state === 'pending' || e.state === 'running')) {
      await this.executor.run(this.resolved, entry, (s, fresh) => this.checkBounds(s, fresh));
      this.checkAfterStep(entry.step);
    }
  }

  private maybeFaultBetweenSteps(): void {
    if (!this.rng.chance(0.03)) return;
    const role = this.rng.chance(0.3) ? 'manager' : 'worker';
    const victim = this.pickInstance((i) => i.alive && i.state === 'running' && i.role === role);
    if (victim) {
      this.log(`fault: kill ${victim} between steps`);
      this.world.kill(victim);
    }
  }

  private checkBounds(step: Step, fresh: Snapshot): void {
    for (const v of checkStepBounds(this.world, this.resolved, step, fresh)) this.violate(v.invariant, v.detail);
  }

  private checkAfterStep(step: Step): void {
    const losses = this.world.controllerQuorumLosses();
    if (losses.length > 0) this.violate('quorum', `${losses.map((l) => `${l.raft} quorum lost by controller: ${l.detail}`).join('; ')} (after ${describe(step)})`);
    // A token names one launch intent of `count` instances (a batch): more than that
    // under one token is a second launch of the same intent.
    if (step.kind === 'instance.launch') this.launchCounts.set(step.clientToken, Math.max(step.count, this.launchCounts.get(step.clientToken) ?? 0));
    for (const [token, ids] of this.world.launchesByToken) {
      if (ids.length > (this.launchCounts.get(token) ?? 1)) this.violate('double-launch', `token ${token} launched ${ids.join(', ')}`);
    }
  }

  private async converge(maxCycles: number): Promise<boolean> {
    for (let c = 0; c < maxCycles; c++) {
      const result = await this.cycle();
      if (!this.faultsOn && result.holds.some((h) => h.reason === 'MaxUnhealthyExceeded') && this.spec.healing?.maxUnhealthy !== '100%') this.liftBrake();
      if (result.steps.length === 0 && checkConverged(this.world, this.resolved, CLUSTER).length === 0) {
        // Replanning on the converged world yields no steps.
        const again = this.planner(this.resolved, await this.observe(), { now: this.world.now });
        if (again.steps.length === 0) return true;
      }
      if (this.violations.length > 0) return true;
    }
    for (const problem of checkConverged(this.world, this.resolved, CLUSTER)) this.log(`not converged: ${problem}`);
    return false;
  }

  /**
   * maxUnhealthy short-circuit, checked on every cycle: when more nodes of a role are dead
   * (as the planner sees them) than maxUnhealthy allows and they are needed, the plan
   * holds MaxUnhealthyExceeded and touches none of them.
   */
  private checkShortCircuit(snapshot: Snapshot, result: PlanResult): void {
    if (this.resolved.paused) return;
    const inv = buildInventory(this.resolved, snapshot, this.world.now);
    if (!inv.complete || result.phase === 'Frozen') return;
    for (const role of ['manager', 'worker'] as const) {
      const nodes = nodesOf(inv, role).filter((n) => !n.removing);
      const dead = nodes.filter((n) => n.dead);
      const desired = role === 'manager' ? this.resolved.managers.count : this.resolved.workers.count;
      if (dead.length <= maxUnhealthyCount(this.resolved.healing.maxUnhealthy, Math.max(desired, nodes.length))) continue;
      if (nodes.length - dead.length >= desired) continue; // surplus dead nodes: a scale-down, no brake
      if (!result.holds.some((h) => h.reason === 'MaxUnhealthyExceeded')) this.violate('max-unhealthy', `${dead.length} dead ${role}s but no MaxUnhealthyExceeded hold`);
      const ids = new Set(dead.map((n) => n.id));
      const touched = result.steps.filter((st) => 'instanceId' in st && st.instanceId !== undefined && ids.has(st.instanceId));
      if (touched.length > 0) this.violate('max-unhealthy', `remediation despite the short-circuit: ${touched.map(describe).join('; ')}`);
    }
  }

  /** After faults stop, the operator answers a MaxUnhealthyExceeded hold by raising the limit, as its message invites. */
  private liftBrake(): void {
    this.spec = { ...this.spec, healing: { ...this.spec.healing, maxUnhealthy: '100%' } };
    this.generation += 1;
    this.resolved = resolveSpec(CLUSTER, this.generation, this.spec);
    this.log('operator raises maxUnhealthy to 100%');
  }

  /** Recoverable: quorum held in both rafts (a dead majority can only freeze). */
  private recoverable(): boolean {
    if (this.world.etcdQuorumHeld() && this.world.swarmQuorumHeld()) return true;
    this.unrecoverable = 'quorum-lost';
    return false;
  }

  /** Unrecoverable end state: the planner must not take a destructive or membership step. */
  private async checkFrozenSafe(): Promise<void> {
    const result = this.planner(this.resolved, await this.observe(), { now: this.world.now });
    const bad = result.steps.filter((s) => MEMBERSHIP_STEP_KINDS.has(s.kind) || s.kind === 'etcd.removeMember');
    if (bad.length > 0) this.violate('frozen', `quorum lost, yet the plan holds ${bad.map(describe).join('; ')}`);
  }

  private violate(invariant: string, detail: string): void {
    this.violations.push({ invariant, detail: `${detail} [cycle ${this.cycles}, t=${(this.world.now - 1_700_000_000_000) / 1000}s]` });
  }

  private log(line: string): void {
    if (this.opts.trace) this.trace.push(`[${((this.world.now - 1_700_000_000_000) / 1000).toFixed(0)}s c${this.cycles}] ${line}`);
  }
}

export function describe(s: Step): string {
  const target = 'instanceId' in s && s.instanceId ? s.instanceId : 'memberId' in s ? s.memberId : 'nodeId' in s ? s.nodeId : 'clientToken' in s ? s.clientToken : '';
  return `${s.kind} ${target}`.trim();
}
