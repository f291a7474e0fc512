// The simulated world as its adapters see it: the state they read and the operations
// they call. SimWorld (world.ts) implements it and builds the adapters (sim-provider.ts,
// sim-swarm.ts, sim-etcd.ts) and runs the agents (agents.ts) over it; they know only
// this interface, so the model and its adapters import each other in one direction.
import type { Role } from '../../spec/schema.ts';
import type { Cause, FaultRates, Range, SimInstance, SimMember, SimSwarmNode, SimTimings } from './model.ts';

/** What a launch asks of the world for one instance. */
export interface InstanceLaunch {
  readonly cluster: string;
  readonly role: Role;
  readonly configHash: string;
  readonly clientToken?: string;
  readonly zone?: string;
  readonly tags?: Record<string, string>;
}

export interface SimState {
  /** The virtual clock (ms since the epoch). */
  readonly now: number;
  readonly timings: SimTimings;
  readonly faults: FaultRates;
  readonly instances: Map<string, SimInstance>;
  readonly swarmNodes: Map<string, SimSwarmNode>;
  readonly members: Map<string, SimMember>;
  swarmInitialized: boolean;
  /** keys.initClaim: taken once by the manager that initialises the cluster. */
  initClaimed: boolean;
  etcdLeaderId: string | undefined;
  swarmLeaderId: string | undefined;
  /** What the agents published under keys.endpoints (the first manager, then the controller). */
  publishedClientURLs: string[] | undefined;
  /** Instance ids launched per client token (a token launching twice is a bug). */
  readonly launchesByToken: Map<string, string[]>;

  draw(range: Range): number;
  chance(p: number): boolean;
  currentRaftIndex(): number;
  createInstance(init: InstanceLaunch): SimInstance;
  removeInstance(id: string, cause: Cause): void;
  /** Throws the configured API faults for one port call. */
  maybeFail(what: string): void;
  /** After a mutation took effect: maybe lose the answer. */
  maybeLoseResponse(what: string): void;
  reachable(instanceId: string | undefined): boolean;
  memberHealthy(m: SimMember): boolean;
  etcdQuorumHeld(): boolean;
  swarmQuorumHeld(): boolean;
  /** Re-elects leaders and records quorum transitions; every mutation ends here. */
  afterChange(cause: Cause, detail: string): void;
  addMember(address: string, opts: { learner: boolean; started: boolean; name: string }): SimMember;
  addSwarmNode(inst: SimInstance, role: Role): SimSwarmNode;
  allocateAddress(): string;
}
