// WorldState: the simulated world's model, everything its port adapters see through
// SimState: the virtual clock, instances, etcd members and swarm nodes, the rafts'
// quorum and leaders (sim-raft.ts), and the record of every quorum transition with its
// cause. The agents run on it as time passes. SimWorld (world.ts) adds the adapters and
// the faults a history injects.
//
// Time moves only through advance(); randomness only through the injected source.
import type { Instance } from '../../model/snapshot.ts';
import { etcdClientUrl, etcdPeerUrl } from '../../model/snapshot.ts';
import { SwarmkeeperError } from '../../errors.ts';
import type { Role } from '../../spec/schema.ts';
import {
  DEFAULT_TIMINGS,
  NO_FAULTS,
  newSimInstance,
  type Cause,
  type FaultRates,
  type QuorumEvent,
  type Range,
  type SimInstance,
  type SimMember,
  type SimSwarmNode,
  type SimTimings,
} from './model.ts';
import { SeededRandom, type RandomSource } from './rng.ts';
import { runAgents } from './agents.ts';
import type { InstanceLaunch, SimState } from './state.ts';
import { electLeaders, etcdQuorumHeld, instanceOfAddress, isMemberHealthy, isReachable, swarmQuorumHeld } from './sim-raft.ts';

export interface SimWorldOptions {
  /** Seed of the default random source (ignored when `random` is given). */
  readonly seed?: number;
  readonly random?: RandomSource;
  /** Virtual epoch ms the clock starts at. */
  readonly start?: number;
  readonly timings?: Partial<SimTimings>;
  readonly faults?: Partial<FaultRates>;
  /** Granularity of advance() in ms. */
  readonly tickMs?: number;
}

export class WorldState implements SimState {
  now: number;
  readonly random: RandomSource;
  /** Mutable: a history may slow boots down for a while (see slowBoots()). */
  timings: SimTimings;
  faults: FaultRates;
  readonly instances = new Map<string, SimInstance>();
  readonly swarmNodes = new Map<string, SimSwarmNode>();
  readonly members = new Map<string, SimMember>();
  swarmInitialized = false;
  /** keys.initClaim: taken once by the manager that initialises the cluster. */
  initClaimed = false;
  etcdLeaderId: string | undefined;
  swarmLeaderId: string | undefined;
  /** What the agents published under keys.endpoints (the first manager, then the controller). */
  publishedClientURLs: string[] | undefined;
  readonly quorumEvents: QuorumEvent[] = [];
  /** Instance ids launched per client token (a token launching twice is a bug). */
  readonly launchesByToken = new Map<string, string[]>();
  private seq = 0;
  private raftIndex = 1;
  private quorum = { etcd: true, swarm: true };
  private readonly tickMs: number;

  constructor(opts: SimWorldOptions = {}) {
    this.random = opts.random ?? new SeededRandom(opts.seed ?? 1);
    this.now = opts.start ?? 1_700_000_000_000;
    this.timings = { ...DEFAULT_TIMINGS, ...opts.timings };
    this.faults = { ...NO_FAULTS, ...opts.faults };
    this.tickMs = opts.tickMs ?? 1000;
  }

  // ---- time ---------------------------------------------------------------------------

  /** Moves the virtual clock forward, running agents and delayed effects on the way. */
  advance(ms: number): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now = Math.min(end, this.now + this.tickMs);
      this.raftIndex += 10;
      this.applyDelayed();
      runAgents(this);
      this.electLeaders();
      this.checkQuorum('agent', 'time passed');
    }
  }

  draw(range: Range): number {
    return range[0] + Math.floor(this.random.next() * (range[1] - range[0] + 1));
  }

  chance(p: number): boolean {
    return p > 0 && this.random.next() < p;
  }

  nextId(prefix: string): string {
    this.seq += 1;
    return `${prefix}${this.seq.toString(16).padStart(6, '0')}`;
  }

  currentRaftIndex(): number {
    return this.raftIndex;
  }

  // ---- instances ----------------------------------------------------------------------

  createInstance(init: InstanceLaunch): SimInstance {
    const bootAt = this.now + this.draw(this.timings.bootMs);
    const inst = newSimInstance({
      id: this.nextId('i-sim'),
      cluster: init.cluster,
      role: init.role,
      state: 'pending',
      launchedAt: this.now,
      bootAt,
      joinAt: bootAt + this.draw(this.timings.joinMs),
      zone: init.zone,
      configHash: init.configHash,
      clientToken: init.clientToken,
      tags: { ...(init.tags ?? {}) },
      external: false,
    });
    this.instances.set(inst.id, inst);
    if (init.clientToken !== undefined)
      this.launchesByToken.set(init.clientToken, [...(this.launchesByToken.get(init.clientToken) ?? []), inst.id]);
    return inst;
  }

  /**
   * Boots an instance another provider launched (e.g. a moto-backed EC2 instance): the
   * simulated agent joins it to this world's swarm and etcd by the same protocol. The
   * instance needs an address; it is considered running now.
   */
  attachInstance(instance: Instance, cluster = instance.tags['swarmkeeper.cluster'] ?? ''): SimInstance {
    if (instance.address === undefined)
      throw new SwarmkeeperError('Precondition', `attaching ${instance.id}: the instance has no address yet`);
    const existing = this.instances.get(instance.id);
    if (existing) return existing;
    const inst = newSimInstance({
      id: instance.id,
      cluster,
      role: instance.role,
      state: 'running',
      launchedAt: instance.launchedAt,
      bootAt: this.now,
      joinAt: this.now + this.draw(this.timings.joinMs),
      address: instance.address,
      zone: instance.zone,
      configHash: instance.configHash,
      clientToken: instance.clientToken,
      tags: { ...instance.tags },
      external: true,
    });
    this.instances.set(inst.id, inst);
    return inst;
  }

  /** Instance gone for good (terminate, or an external termination fault). */
  removeInstance(id: string, cause: Cause): void {
    const inst = this.instances.get(id);
    if (!inst || inst.state === 'terminated') return;
    inst.state = 'terminated';
    inst.alive = false;
    this.afterChange(cause, `instance ${id} terminated`);
  }

  // ---- faults the port calls meet ---------------------------------------------------

  /** Throws the configured API faults for one port call (called by the port objects). */
  maybeFail(what: string): void {
    if (this.chance(this.faults.throttle)) throw new SwarmkeeperError('Throttled', `${what}: rate exceeded (simulated)`);
    if (this.chance(this.faults.apiError)) throw new SwarmkeeperError('Unavailable', `${what}: connection reset (simulated)`);
  }

  /** After a mutation took effect: maybe lose the answer. */
  maybeLoseResponse(what: string): void {
    if (this.chance(this.faults.lostResponse))
      throw new SwarmkeeperError('Unavailable', `${what}: timed out waiting for the answer (simulated; the change was applied)`);
  }

  // ---- health and quorum --------------------------------------------------------------

  /** A node the controller (on the majority side) can talk to. */
  reachable(instanceId: string | undefined): boolean {
    return isReachable(this.instances, instanceId);
  }

  /** Whether the controller's calls reach the node (reachable() and no controller-side cut). */
  answersController(instanceId: string | undefined): boolean {
    return this.reachable(instanceId) && !this.instances.get(instanceId ?? '')?.cutFromController;
  }

  instanceOfAddress(address: string): SimInstance | undefined {
    return instanceOfAddress(this.instances, address);
  }

  memberHealthy(m: SimMember): boolean {
    return isMemberHealthy(this.instances, m);
  }

  etcdQuorumHeld(): boolean {
    return etcdQuorumHeld(this);
  }

  swarmQuorumHeld(): boolean {
    return swarmQuorumHeld(this);
  }

  /** Re-elects leaders and records quorum transitions; every mutation ends here. */
  afterChange(cause: Cause, detail: string): void {
    this.electLeaders();
    this.checkQuorum(cause, detail);
  }

  private checkQuorum(cause: Cause, detail: string): void {
    const etcd = this.etcdQuorumHeld();
    const swarm = this.swarmQuorumHeld();
    for (const [raft, held] of [
      ['etcd', etcd],
      ['swarm', swarm],
    ] as const) {
      if (this.quorum[raft] !== held) this.quorumEvents.push({ at: this.now, raft, kind: held ? 'regained' : 'lost', cause, detail });
      this.quorum[raft] = held;
    }
  }

  /** Quorum losses a controller call caused. */
  controllerQuorumLosses(): QuorumEvent[] {
    return this.quorumEvents.filter((e) => e.kind === 'lost' && e.cause === 'controller');
  }

  private electLeaders(): void {
    electLeaders(this);
  }

  private applyDelayed(): void {
    for (const n of this.swarmNodes.values()) {
      if (n.pendingRole && n.pendingRole.at <= this.now) {
        const { role, cause } = n.pendingRole;
        n.pendingRole = undefined;
        if (n.role !== role) {
          n.role = role;
          n.version += 1;
          this.afterChange(cause, `swarm node ${n.id} became ${role}`);
        }
      }
      if (n.availability === 'drain' && n.drainedAt !== undefined && n.drainedAt <= this.now) n.tasks = 0;
    }
  }

  // ---- cluster helpers for the agents and ports ---------------------------------------

  addMember(address: string, opts: { learner: boolean; started: boolean; name: string }): SimMember {
    const m: SimMember = {
      id: this.nextId('m'),
      name: opts.name,
      peerURL: etcdPeerUrl(address),
      clientURL: etcdClientUrl(address),
      isLearner: opts.learner,
      ...(opts.started ? { startedAt: this.now, caughtUpAt: this.now } : {}),
    };
    this.members.set(m.id, m);
    return m;
  }

  addSwarmNode(inst: SimInstance, role: Role): SimSwarmNode {
    const n: SimSwarmNode = {
      id: this.nextId('n'),
      instanceId: inst.id,
      address: inst.address ?? '',
      role,
      availability: 'active',
      version: 1,
      tasks: inst.role === 'worker' ? this.draw([0, 5]) : 0,
    };
    this.swarmNodes.set(n.id, n);
    return n;
  }

  /** Allocates a private address: 10.77.x.y (never contacted: the world is in memory). */
  allocateAddress(): string {
    this.seq += 1;
    return `10.77.${(this.seq >> 8) & 255}.${this.seq & 255}`;
  }
}
