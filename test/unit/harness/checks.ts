// The invariants a history checks while the production controller runs, each where it
// can be seen first and independently of the controller's own code:
//   - at every port call: each world mutation runs under a journal entry of its kind in
//     state running (journal before action); every
//     management write is fenced by the writer's own leadership; no membership change
//     starts while another one is still in flight in the world;
//   - at every plan: at most one membership step; the maxUnhealthy brake holds;
//   - at every precondition check that lets a membership step run: no raft has lost
//     quorum (the plan's view may predate a death; the re-check must not);
//   - at every precondition check that lets a destructive step run: the view is complete
//     and equals the world's membership and health at that instant (not stale); launch
//     and drain bounds (surge, unavailability) hold;
//   - after every cycle: no quorum lost by a controller action, no token launched twice.
import type { Snapshot } from '../../../src/model/snapshot.ts';
import type { PreconditionResult } from '../../../src/plan/preconditions.ts';
import { buildInventory, nodesOf } from '../../../src/plan/inventory.ts';
import { DESTRUCTIVE_STEP_KINDS, MEMBERSHIP_STEP_KINDS, type PlanResult, type Step } from '../../../src/plan/steps.ts';
import type { SimWorld } from '../../../src/providers/sim/index.ts';
import { maxUnhealthyCount, type ResolvedSpec } from '../../../src/spec/defaults.ts';
import type { MemoryFencedKv } from '../../../src/store/memory-kv.ts';
import type { LeaderFence } from '../../../src/store/port.ts';
import { clusterKeys } from '../../../src/store/keys.ts';
import { checkStepBounds } from './invariants.ts';
import { journalPuts, PREFIX, type PortCall, type SimController } from './sim-controller.ts';

export interface Violation {
  readonly invariant: string;
  readonly detail: string;
}

/** Which journaled step kinds may make each world-mutating call. */
const CALL_STEPS: Readonly<Record<string, readonly string[]>> = {
  'provider.launch': ['instance.launch'],
  'provider.terminate': ['instance.terminate'],
  'etcd.addLearner': ['etcd.addLearner'],
  'etcd.promote': ['etcd.promote'],
  'etcd.removeMember': ['etcd.removeMember'],
  'etcd.moveLeader': ['etcd.moveLeader'],
  'swarm.setRole': ['swarm.promote', 'swarm.demote'],
  'swarm.setAvailability': ['swarm.drain', 'swarm.activate'],
  'swarm.removeNode': ['swarm.removeNode'],
};
const MEMBERSHIP_CALLS = new Set(['etcd.addLearner', 'etcd.promote', 'etcd.removeMember', 'swarm.setRole']);

export class HistoryChecks {
  readonly violations: Violation[] = [];
  private readonly launchCounts = new Map<string, number>();
  private quorumLossesSeen = 0;

  constructor(
    private readonly world: SimWorld,
    private readonly kv: MemoryFencedKv,
    private readonly spec: () => ResolvedSpec,
    private readonly log: (line: string) => void,
    private readonly cluster = 'prop',
  ) {}

  violate(invariant: string, detail: string): void {
    this.violations.push({ invariant, detail: `${detail} [t=${((this.world.now - 1_700_000_000_000) / 1000).toFixed(1)}s]` });
    this.log(`VIOLATION ${invariant}: ${detail}`);
  }

  onCall(call: PortCall, c: SimController): void {
    const name = `${call.port}.${call.method}`;
    if (name === 'kv.write') this.checkFence(call.args[1] as LeaderFence | undefined, c, 'a management write');
    if (name === 'store.writeStatus') this.checkFence(call.args[2] as LeaderFence | undefined, c, 'a status write');
    if (name === 'kv.write' && c.holdsLeadership()) this.noteOwnJournalWrites(call, c);
    const kinds = CALL_STEPS[name];
    if (!kinds) return;
    if (!this.runningEntry(kinds) && !this.stepOfDeposedReplica(c, kinds))
      this.violate('journal-before-action', `${c.identity} called ${name} with no running journal entry of ${kinds.join('/')}`);
    if (MEMBERSHIP_CALLS.has(name))
      this.checkOneMembershipChange(
        name,
        name === 'swarm.setRole' ? { nodeId: call.args[0] as string, role: call.args[2] as string } : undefined,
      );
    if (name === 'provider.launch') {
      const req = call.args[0] as { clientToken: string; count: number };
      this.launchCounts.set(req.clientToken, Math.max(req.count, this.launchCounts.get(req.clientToken) ?? 0));
    }
  }

  onPlan(spec: ResolvedSpec, snapshot: Snapshot, result: PlanResult): PlanResult {
    const membership = result.steps.filter((s) => MEMBERSHIP_STEP_KINDS.has(s.kind));
    if (membership.length > 1)
      this.violate('one-membership-change', `plan holds ${membership.length} membership steps: ${membership.map(describe).join('; ')}`);
    this.checkShortCircuit(spec, snapshot, result);
    return result;
  }

  onPrecondition(replica: SimController, step: Step, view: Snapshot, verdict: PreconditionResult): PreconditionResult {
    if (verdict.status !== 'ok' || !replica.holdsLeadership()) return verdict;
    // Judged here, not at the plan: the plan's view may predate a death (another replica's
    // call, a kill as a step starts); the re-check right before acting must not.
    if (MEMBERSHIP_STEP_KINDS.has(step.kind) && (!this.world.etcdQuorumHeld() || !this.world.swarmQuorumHeld())) {
      this.violate('frozen', `a raft lost quorum, yet ${describe(step)} is allowed to run`);
    }
    if (DESTRUCTIVE_STEP_KINDS.has(step.kind)) {
      if (view.instances.status !== 'ok' || view.swarm.status !== 'ok' || view.etcd.status !== 'ok')
        this.violate('complete-observation', `${describe(step)} allowed on an incomplete view`);
      else {
        const stale = this.staleness(view, step);
        if (stale) this.violate('fresh-observation', `${describe(step)} allowed on a stale view: ${stale}`);
      }
    }
    for (const v of checkStepBounds(this.world, this.spec(), step, view)) this.violate(v.invariant, v.detail);
    return verdict;
  }

  afterCycle(): void {
    const losses = this.world.controllerQuorumLosses();
    if (losses.length > this.quorumLossesSeen) {
      this.violate(
        'quorum',
        losses
          .slice(this.quorumLossesSeen)
          .map((l) => `${l.raft} quorum lost by controller: ${l.detail}`)
          .join('; '),
      );
      this.quorumLossesSeen = losses.length;
    }
    for (const [token, ids] of this.world.launchesByToken) {
      if (ids.length > (this.launchCounts.get(token) ?? 1)) this.violate('repeated-launch', `token ${token} launched ${ids.join(', ')}`);
    }
  }

  private checkFence(fence: LeaderFence | undefined, c: SimController, what: string): void {
    if (!fence) this.violate('fenced-writes', `${c.identity} made ${what} without a leadership fence`);
    else if (fence.key !== c.leadership.fence.key || fence.createRevision !== c.leadership.fence.createRevision)
      this.violate('fenced-writes', `${c.identity} made ${what} under a fence not its own`);
  }

  /**
   * The step kind each replica last set running with a write that went through (it held
   * leadership, so the fence let it), until it closes that entry.
   */
  private readonly ownRunning = new Map<string, string>();

  private noteOwnJournalWrites(call: PortCall, c: SimController): void {
    for (const e of journalPuts(call)) {
      if (e.state === 'running') this.ownRunning.set(c.identity, e.stepKind);
      else if (this.ownRunning.get(c.identity) === e.stepKind) this.ownRunning.delete(c.identity);
    }
  }

  /**
   * A deposed replica that has not noticed yet finishes the step it set running while it
   * led (its journal writes are fenced, so it can start no other), even when the new
   * leader has resumed and closed that entry meanwhile: its calls still follow its own
   * journal write. The overlap itself is judged by the membership and launch checks.
   */
  private stepOfDeposedReplica(c: SimController, kinds: readonly string[]): boolean {
    const own = this.ownRunning.get(c.identity);
    return !c.holdsLeadership() && own !== undefined && kinds.includes(own);
  }

  /** A resumed entry keeps the identity of the replica that wrote it first: any running entry counts. */
  private runningEntry(kinds: readonly string[]): boolean {
    for (const [, text] of this.kv.scan(clusterKeys(PREFIX, this.cluster).journal)) {
      const e = JSON.parse(text) as { state: string; stepKind: string };
      if (e.state === 'running' && kinds.includes(e.stepKind)) return true;
    }
    return false;
  }

  /**
   * `roleChange`: the node and role a swarm.setRole asks for. Asking again for the role a
   * node is already changing to (a resumed step, a deposed leader's repeat) is the same
   * change, not a second one.
   */
  private checkOneMembershipChange(name: string, roleChange?: { nodeId: string; role: string }): void {
    const pending = [...this.world.swarmNodes.values()].find(
      (n) => n.pendingRole !== undefined && !(n.id === roleChange?.nodeId && n.pendingRole.role === roleChange.role),
    );
    if (pending) this.violate('one-membership-change', `${name} while swarm node ${pending.id} is still changing role`);
    const learner = [...this.world.members.values()].find((m) => m.isLearner);
    if (name === 'etcd.addLearner' && learner) this.violate('one-membership-change', `adding a learner while ${learner.id} is one`);
  }

  /**
   * What the view gets wrong about the world right now, if anything: a node it shows
   * with another role, or ready when it is not; a manager or etcd member it does not
   * show; a member shown with another learner state, or healthy when it is not. Nodes that joined since the read
   * (workers) change no destructive decision and are not counted, nor is the step's own
   * effect on its target.
   */
  private staleness(view: Snapshot, step: Step): string | undefined {
    if (view.swarm.status !== 'ok' || view.etcd.status !== 'ok') return undefined;
    const w = this.world;
    const seen = new Map(view.swarm.value.nodes.map((n) => [n.id, n] as const));
    // The step's own effect arriving while its view was read (a resumed demotion landing
    // during a slow etcd read) makes the step a no-op, not a danger.
    const effect =
      step.kind === 'swarm.demote'
        ? { nodeId: step.nodeId, role: 'worker' }
        : step.kind === 'swarm.promote'
          ? { nodeId: step.nodeId, role: 'manager' }
          : undefined;
    for (const n of view.swarm.value.nodes) {
      const t = w.swarmNodes.get(n.id);
      if (!t) return `swarm node ${n.id} is gone`;
      if (effect?.nodeId === n.id && t.role === effect.role) continue;
      // Seen down but up by now is no danger (the view is only more cautious); the reverse is.
      if (t.role !== n.role || (n.state === 'ready' && !w.reachable(t.instanceId)))
        return `swarm node ${n.id} is ${t.role}/${w.reachable(t.instanceId) ? 'ready' : 'down'}, seen ${n.role}/${n.state}`;
    }
    for (const t of w.swarmNodes.values()) if (t.role === 'manager' && !seen.has(t.id)) return `swarm manager ${t.id} not seen`;
    const members = new Map(view.etcd.value.members.map((m) => [m.id, m] as const));
    if (members.size !== w.members.size) return `etcd has ${w.members.size} members, seen ${members.size}`;
    for (const t of w.members.values()) {
      const m = members.get(t.id);
      if (!m || m.isLearner !== t.isLearner || (m.healthy === true && !w.memberHealthy(t)))
        return `etcd member ${t.id} is ${t.isLearner ? 'learner' : 'voter'}/${w.memberHealthy(t) ? 'healthy' : 'unhealthy'}, seen ${m ? `${m.isLearner ? 'learner' : 'voter'}/${m.healthy === true ? 'healthy' : 'unhealthy'}` : 'nothing'}`;
    }
    return undefined;
  }

  /**
   * maxUnhealthy short-circuit: when more nodes of a role are dead (as the planner sees
   * them) than maxUnhealthy allows and they are needed, the plan holds
   * MaxUnhealthyExceeded and touches none of them.
   */
  private checkShortCircuit(spec: ResolvedSpec, snapshot: Snapshot, result: PlanResult): void {
    if (spec.paused) return;
    const inv = buildInventory(spec, snapshot, snapshot.observedAt);
    if (!inv.complete || result.phase === 'Frozen') return;
    for (const role of ['manager', 'worker'] as const) {
      const nodes = nodesOf(inv, role).filter((n) => !n.removing);
      const dead = nodes.filter((n) => n.dead);
      const desired = role === 'manager' ? spec.managers.count : spec.workers.count;
      if (dead.length <= maxUnhealthyCount(spec.healing.maxUnhealthy, Math.max(desired, nodes.length))) continue;
      if (nodes.length - dead.length >= desired) continue; // surplus dead nodes: a scale-down, no brake
      // Without a full manager nothing can be remediated yet (the cluster is being founded
      // again): no brake to show, but still no step may touch the dead nodes.
      const canRemediate = inv.managers.some((m) => m.fullMember);
      if (canRemediate && !result.holds.some((h) => h.reason === 'MaxUnhealthyExceeded'))
        this.violate('max-unhealthy', `${dead.length} dead ${role}s but no MaxUnhealthyExceeded hold`);
      const ids = new Set(dead.map((n) => n.id));
      const touched = result.steps.filter((st) => 'instanceId' in st && st.instanceId !== undefined && ids.has(st.instanceId));
      if (touched.length > 0) this.violate('max-unhealthy', `remediation despite the short-circuit: ${touched.map(describe).join('; ')}`);
    }
  }
}

export function describe(s: Step): string {
  const target =
    'instanceId' in s && s.instanceId
      ? s.instanceId
      : 'memberId' in s
        ? s.memberId
        : 'nodeId' in s
          ? s.nodeId
          : 'clientToken' in s
            ? s.clientToken
            : '';
  return `${s.kind} ${target}`.trim();
}
