// One controller replica as shipped, in the simulator: reconcileCluster() (spec read,
// journal resume, observe, detectors, plan, act with its precondition re-check, fenced
// status write) with the production planner, executor, journal, detectors and stores,
// on SimWorld's provider and per-node peers, and an in-memory management store with
// etcd's fencing. Every port call goes through a CallGate, where a history injects
// faults, deposes the leader, or crashes the process: once crashed, no call of this
// replica ever returns again (a dead process makes no more progress), and a crash may
// land before or after the call took effect.
import { reconcileCluster, type CycleResult, type LoopContext, type PlanFn } from '../../../src/controller/reconcile.ts';
import type { PreconditionCheck } from '../../../src/act/context.ts';
import { localAgentConfig } from '../../../src/controller/agent-config.ts';
import type { MemoryMarkStore } from '../../../src/store/memory-mark-store.ts';
import type { MarkStore } from '../../../src/store/mark-port.ts';
import { silentLogger } from '../../../src/log.ts';
import { PeerClients, type PeerFactories } from '../../../src/observe/peer-clients.ts';
import type { Provider } from '../../../src/providers/provider.ts';
import { simPeerFactories, type SimWorld } from '../../../src/providers/sim/index.ts';
import type { Leadership } from '../../../src/store/election.ts';
import type { FencedKv } from '../../../src/store/fenced-kv.ts';
import { Journal } from '../../../src/store/journal.ts';
import type { MemoryFencedKv } from '../../../src/store/memory-kv.ts';
import type { MemoryClusterStore } from '../../../src/store/memory-store.ts';
import type { ClusterStore } from '../../../src/store/port.ts';
import type { EtcdMembershipApi } from '../../../src/etcd/port.ts';
import type { StepKind } from '../../../src/plan/steps.ts';
import type { SwarmApi } from '../../../src/swarm/port.ts';

export const PREFIX = '/swarmkeeper';
const ELECTION_KEY = `${PREFIX}/election/controller`;

export interface PortCall {
  readonly port: 'provider' | 'swarm' | 'etcd' | 'kv' | 'marks' | 'store';
  readonly method: string;
  readonly args: readonly unknown[];
  readonly mutating: boolean;
}

/** The journal entries a management write puts, for the checks and faults that follow the journal. */
export function journalPuts(call: PortCall): { readonly stepKind: StepKind; readonly state: string }[] {
  if (call.port !== 'kv' || call.method !== 'write') return [];
  const ops = call.args[0] as ReadonlyArray<{ kind: string; key: string; value?: string }>;
  return ops.flatMap((op) =>
    op.kind === 'put' && op.key.includes('/journal/') && op.value !== undefined
      ? [JSON.parse(op.value) as { stepKind: StepKind; state: string }]
      : [],
  );
}

const NEVER = new Promise<never>(() => undefined);
/** One silent logger for every replica: building a pino logger per cycle was a tenth of a history's CPU. */
const QUIET = silentLogger();

export class CallGate {
  calls = 0;
  dead = false;
  /** Crash at this call number (1-based); `applyOnCrash`: the call takes effect first. */
  crashAt: number | undefined;
  applyOnCrash = false;

  constructor(private readonly onCall: (call: PortCall) => void) {}

  run<T>(call: PortCall, fn: () => Promise<T>): Promise<T> {
    if (this.dead) return NEVER;
    this.calls += 1;
    this.onCall(call);
    if (this.crashAt === this.calls) {
      this.dead = true;
      if (this.applyOnCrash) void fn().catch(() => undefined);
      return NEVER;
    }
    return fn();
  }
}

/** `target` with its async `methods` routed through the gate (sync ones pass through). */
function gated<T extends object>(target: T, port: PortCall['port'], methods: Record<string, boolean>, gate: CallGate): T {
  return new Proxy(target, {
    get(t, prop) {
      const v = Reflect.get(t, prop, t) as unknown;
      if (typeof v !== 'function') return v;
      const fn = v as (...a: unknown[]) => Promise<unknown>;
      if (typeof prop !== 'string' || !(prop in methods)) return fn.bind(t);
      return (...args: unknown[]) => gate.run({ port, method: prop, args, mutating: methods[prop] === true }, () => fn.apply(t, args));
    },
  });
}

const PROVIDER = { list: false, launch: true, terminate: true };
const SWARM = {
  info: false,
  listNodes: false,
  runningTasks: false,
  tasksNotMoved: false,
  setAvailability: true,
  setRole: true,
  removeNode: true,
  joinTokens: false,
};
const ETCD = { view: false, listMembers: false, addLearner: true, promote: true, removeMember: true, moveLeader: true };
const KV = { get: false, getPrefix: false, write: true };
const MARKS = { listMarks: false, putMark: true, clearMark: true, listControls: false, putControl: true };
const STORE = { get: false, writeStatus: true };

export interface SimControllerDeps {
  readonly world: SimWorld;
  readonly kv: MemoryFencedKv;
  readonly store: MemoryClusterStore;
  readonly marks: MemoryMarkStore;
  readonly identity: string;
  readonly plan: PlanFn;
  readonly checkPrecondition: PreconditionCheck;
  readonly onCall: (call: PortCall, controller: SimController) => void;
}

export class SimController {
  readonly gate: CallGate;
  readonly leadership: Leadership;
  readonly identity: string;
  private readonly abort = new AbortController();
  private readonly kv: FencedKv;
  private readonly journal: Journal;
  private readonly provider: Provider;
  private readonly peers: PeerClients;
  private readonly marks: MarkStore;
  private readonly store: ClusterStore;
  private readonly hints = {};
  private readonly loop: LoopContext;
  private readonly detectors = { memory: {} };
  private cycles = 0;

  constructor(private readonly deps: SimControllerDeps) {
    this.identity = deps.identity;
    this.gate = new CallGate((call) => deps.onCall(call, this));
    this.leadership = { identity: deps.identity, fence: deps.kv.elect(ELECTION_KEY, deps.identity), signal: this.abort.signal };
    this.kv = gated<FencedKv>(deps.kv, 'kv', KV, this.gate);
    this.journal = new Journal(this.kv, { prefix: PREFIX });
    this.provider = gated<Provider>(deps.world.provider, 'provider', PROVIDER, this.gate);
    const sim = simPeerFactories(deps.world);
    const factories: PeerFactories = {
      swarm: (endpoint) => gated<SwarmApi>(sim.swarm(endpoint), 'swarm', SWARM, this.gate),
      etcd: (urls) => gated<EtcdMembershipApi>(sim.etcd(urls), 'etcd', ETCD, this.gate),
    };
    this.peers = new PeerClients(factories);
    this.marks = gated<MarkStore>(deps.marks, 'marks', MARKS, this.gate);
    this.store = gated<ClusterStore>(deps.store, 'store', STORE, this.gate);
    this.loop = {
      store: this.store,
      mgmt: this.kv,
      prefix: PREFIX,
      journal: this.journal,
      marks: this.marks,
      peers: this.peers,
      providerFor: () => this.provider,
      plan: deps.plan,
      checkPrecondition: deps.checkPrecondition,
      agentConfig: localAgentConfig(['http://127.0.0.1:2379'], PREFIX),
      logger: QUIET,
      now: () => Date.now(),
    };
  }

  /** Whether this replica still holds leadership in the store (it may not know it lost it). */
  holdsLeadership(): boolean {
    return this.deps.kv.holds(this.leadership.fence);
  }

  /** The replica notices it lost leadership: its running cycle stops acting. */
  noticeLoss(): void {
    this.abort.abort(new Error('lost leadership'));
  }

  /** One reconcile cycle as the controller runs it, then its journal pruning. */
  async cycle(cluster: string): Promise<CycleResult> {
    this.cycles += 1;
    const result = await reconcileCluster(cluster, `${this.identity}-${this.cycles}`, {
      loop: this.loop,
      leadership: this.leadership,
      hints: this.hints,
      detectors: this.detectors,
      emit: () => undefined,
    });
    if (result.executed > 0 || result.skipped) await this.journal.prune(cluster, this.leadership.fence).catch(() => undefined);
    return result;
  }
}

/** The controller's requeue policy (controller.ts runCycle), with its convergingMs option. */
export function requeueAfterMs(r: CycleResult | undefined, convergingMs: number): number {
  if (!r) return 500;
  if (r.executed > 0) return 20;
  if (r.skipped) return 300;
  return r.converged ? 30_000 : convergingMs;
}
