// The sim SwarmApi: the cluster as the controller sees it through the swarm leader.
// Manager API calls need a leader (raft quorum), as in swarmkit. Demotion lands after
// a delay (it is asynchronous in Docker too). Unlike swarmkit, a demote that costs
// quorum is NOT refused: the world records the loss, so a planner bug shows.
import type { SwarmAvailability, SwarmNode } from '../../model/snapshot.ts';
import { SwarmkeeperError } from '../../errors.ts';
import type { Role } from '../../spec/schema.ts';
import type { SwarmApi, SwarmInfo, SwarmJoinTokens, TasksNotMoved } from '../../swarm/port.ts';
import type { SimSwarmNode } from './model.ts';
import type { SimState } from './state.ts';

export class SimSwarm implements SwarmApi {
  constructor(private readonly world: SimState) {}

  async info(): Promise<SwarmInfo> {
    this.world.maybeFail('reading swarm info');
    const leader = this.leaderNode();
    if (!leader) return { localNodeState: this.world.swarmInitialized ? 'error' : 'inactive', isManager: false };
    return { localNodeState: 'active', nodeId: leader.id, isManager: true, clusterId: 'sim-swarm' };
  }

  async listNodes(): Promise<SwarmNode[]> {
    this.requireLeader('listing swarm nodes');
    return [...this.world.swarmNodes.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((n) => this.toNode(n));
  }

  async runningTasks(nodeId: string): Promise<number> {
    this.requireLeader('listing tasks');
    return this.node(nodeId).tasks;
  }

  /** The simulator's tasks move as a whole when the drain completes: nothing waits elsewhere. */
  async tasksNotMoved(nodeId: string): Promise<TasksNotMoved> {
    this.requireLeader('listing tasks');
    this.node(nodeId);
    return { count: 0 };
  }

  async setAvailability(nodeId: string, version: number, availability: SwarmAvailability): Promise<void> {
    this.requireLeader(`updating node ${nodeId}`);
    const n = this.versioned(nodeId, version);
    n.availability = availability;
    n.version += 1;
    if (availability === 'drain') n.drainedAt = this.world.now + this.world.draw(this.world.timings.drainMs);
    this.world.maybeLoseResponse(`updating node ${nodeId}`);
  }

  async setRole(nodeId: string, version: number, role: Role): Promise<void> {
    this.requireLeader(`updating node ${nodeId}`);
    const n = this.versioned(nodeId, version);
    n.version += 1;
    const delay = role === 'worker' ? this.world.draw(this.world.timings.demoteMs) : 0;
    if (delay === 0) {
      n.role = role;
      n.pendingRole = undefined;
      this.world.afterChange('controller', `swarm node ${nodeId} set to ${role}`);
    } else {
      n.pendingRole = { role, at: this.world.now + delay, cause: 'controller' };
    }
    this.world.maybeLoseResponse(`updating node ${nodeId}`);
  }

  async removeNode(nodeId: string, force: boolean): Promise<void> {
    this.requireLeader(`removing node ${nodeId}`);
    const n = this.node(nodeId);
    if (n.role === 'manager' || n.pendingRole?.role === 'manager') {
      throw new SwarmkeeperError(
        'Conflict',
        `removing node ${nodeId}: it is a cluster manager and a member of the raft cluster; demote it first`,
      );
    }
    if (!force && this.world.reachable(n.instanceId))
      throw new SwarmkeeperError('Conflict', `removing node ${nodeId}: the node is not down; use force`);
    this.world.swarmNodes.delete(nodeId);
    this.world.afterChange('controller', `swarm node ${nodeId} removed`);
    this.world.maybeLoseResponse(`removing node ${nodeId}`);
  }

  async init(): Promise<void> {
    throw new SwarmkeeperError('Conflict', 'initialising a swarm: this node is already part of a swarm');
  }

  async join(): Promise<void> {
    throw new SwarmkeeperError('Conflict', 'joining a swarm: this node is already part of a swarm');
  }

  async joinTokens(): Promise<SwarmJoinTokens> {
    this.requireLeader('reading join tokens');
    return { worker: 'SWMTKN-1-sim-worker', manager: 'SWMTKN-1-sim-manager' };
  }

  async leave(force: boolean): Promise<void> {
    const leader = this.leaderNode();
    if (!leader) throw new SwarmkeeperError('Unavailable', 'leaving the swarm: no manager answers');
    if (!force) throw new SwarmkeeperError('Conflict', 'leaving the swarm: this node is a manager; demote it first or use force');
    this.world.swarmNodes.delete(leader.id);
    this.world.afterChange('controller', `swarm node ${leader.id} left`);
  }

  async close(): Promise<void> {}

  private leaderNode(): SimSwarmNode | undefined {
    const id = this.world.swarmLeaderId;
    return id === undefined ? undefined : this.world.swarmNodes.get(id);
  }

  private requireLeader(what: string): void {
    this.world.maybeFail(what);
    if (!this.world.swarmInitialized) throw new SwarmkeeperError('Unavailable', `${what}: this node is not a swarm manager`);
    if (!this.leaderNode()) throw new SwarmkeeperError('Unavailable', `${what}: the swarm does not have a leader`);
  }

  private node(nodeId: string): SimSwarmNode {
    const n = this.world.swarmNodes.get(nodeId);
    if (!n) throw new SwarmkeeperError('NotFound', `node ${nodeId} not found`);
    return n;
  }

  private versioned(nodeId: string, version: number): SimSwarmNode {
    const n = this.node(nodeId);
    if (n.version !== version)
      throw new SwarmkeeperError('Conflict', `updating node ${nodeId}: update out of sequence (version ${version}, current ${n.version})`);
    return n;
  }

  private toNode(n: SimSwarmNode): SwarmNode {
    const up = this.world.reachable(n.instanceId);
    return {
      id: n.id,
      role: n.role,
      availability: n.availability,
      state: up ? 'ready' : 'down',
      ...(n.role === 'manager' ? { reachability: up ? 'reachable' : 'unreachable' } : {}),
      leader: n.id === this.world.swarmLeaderId,
      instanceId: n.instanceId,
      address: n.address,
      version: n.version,
      runningTasks: n.tasks,
      tasksNotMoved: 0,
    };
  }
}
