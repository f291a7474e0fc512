// How a controller reaches the sim world's nodes, shaped like the real adapters: one
// SwarmApi per node's docker endpoint (an engine answers only for itself, and only a
// manager engine answers manager calls) and one EtcdMembershipApi per set of client
// URLs (the one that answered last first, then in order, as EtcdMembership asks). A terminated node refuses at once; a
// dead, frozen, partitioned or controller-cut node never answers, so the call fails only
// after the adapter's timeout (timers: a test's fake clock makes that virtual time).
// Mutations may reach the world twice when the world's `duplicate` fault fires.
import { SwarmkeeperError } from '../../errors.ts';
import { sleep } from '../../retry.ts';
import type { EtcdMember, EtcdView, SwarmAvailability, SwarmNode } from '../../model/snapshot.ts';
import { urlHost } from '../../model/snapshot.ts';
import type { EtcdMembershipApi } from '../../etcd/port.ts';
import type { Role } from '../../spec/schema.ts';
import type { SwarmApi, SwarmInfo, SwarmJoinTokens, TasksNotMoved } from '../../swarm/port.ts';
import type { DockerEndpoint } from '../../swarm/docker-endpoint.ts';
import type { SimWorld } from './world.ts';

export interface SimPeerOptions {
  /** What a call to a node that does not answer costs before it fails (DockerSwarm: 60 s). */
  readonly swarmTimeoutMs?: number;
  /** Per-endpoint etcd call timeout (the controller's EtcdMembership: 2 s). */
  readonly etcdCallTimeoutMs?: number;
}

/** Shaped like the observer's PeerFactories (the providers layer does not import it). */
export interface SimPeerFactories {
  readonly swarm: (endpoint: DockerEndpoint) => SwarmApi;
  readonly etcd: (clientURLs: readonly string[]) => EtcdMembershipApi;
}

export function simPeerFactories(world: SimWorld, opts: SimPeerOptions = {}): SimPeerFactories {
  return {
    swarm: (endpoint) => new SimNodeSwarm(world, instanceOfEndpoint(endpoint), opts.swarmTimeoutMs ?? 60_000),
    etcd: (urls) => new SimEtcdClient(world, urls, opts.etcdCallTimeoutMs ?? 2_000),
  };
}

/** The sim provider's docker endpoints are /nonexistent/sim/<instance id>/docker.sock. */
function instanceOfEndpoint(endpoint: DockerEndpoint): string {
  const path = 'socketPath' in endpoint ? endpoint.socketPath : '';
  return /\/sim\/([^/]+)\/docker\.sock$/.exec(path)?.[1] ?? '';
}

/** Waits as a real client would for a node that may not answer; throws when it does not. */
async function reach(world: SimWorld, instanceId: string | undefined, ms: number, what: string): Promise<void> {
  const inst = instanceId === undefined ? undefined : world.instances.get(instanceId);
  // Gone, or still booting (nothing listens yet): refused at once.
  if (!inst || inst.state === 'terminated' || inst.state === 'pending')
    throw new SwarmkeeperError('Unavailable', `${what}: connection refused (simulated)`);
  if (world.answersController(inst.id)) return;
  await sleep(ms);
  if (!world.answersController(inst.id)) throw new SwarmkeeperError('Unavailable', `${what}: no answer within ${ms} ms (simulated)`);
}

async function maybeTwice<T>(world: SimWorld, fn: () => Promise<T>): Promise<T> {
  const out = await fn();
  if (world.chance(world.faults.duplicate ?? 0)) await fn().catch(() => undefined);
  return out;
}

class SimNodeSwarm implements SwarmApi {
  constructor(
    private readonly world: SimWorld,
    private readonly instanceId: string,
    private readonly timeoutMs: number,
  ) {}

  async info(): Promise<SwarmInfo> {
    await reach(this.world, this.instanceId, this.timeoutMs, `dockerd of ${this.instanceId}`);
    this.world.maybeFail('reading swarm info');
    const node = [...this.world.swarmNodes.values()].find((n) => n.instanceId === this.instanceId);
    if (!node) return { localNodeState: 'inactive', isManager: false };
    return { localNodeState: 'active', nodeId: node.id, isManager: node.role === 'manager', clusterId: 'sim-swarm' };
  }

  async listNodes(): Promise<SwarmNode[]> {
    await this.asManager('listing swarm nodes');
    return this.world.swarm.listNodes();
  }

  async runningTasks(nodeId: string): Promise<number> {
    await this.asManager('listing tasks');
    return this.world.swarm.runningTasks(nodeId);
  }

  async tasksNotMoved(nodeId: string): Promise<TasksNotMoved> {
    await this.asManager('listing tasks');
    return this.world.swarm.tasksNotMoved(nodeId);
  }

  async setAvailability(nodeId: string, version: number, availability: SwarmAvailability): Promise<void> {
    await this.asManager(`updating node ${nodeId}`);
    return maybeTwice(this.world, () => this.world.swarm.setAvailability(nodeId, version, availability));
  }

  async setRole(nodeId: string, version: number, role: Role): Promise<void> {
    await this.asManager(`updating node ${nodeId}`);
    return maybeTwice(this.world, () => this.world.swarm.setRole(nodeId, version, role));
  }

  async removeNode(nodeId: string, force: boolean): Promise<void> {
    await this.asManager(`removing node ${nodeId}`);
    return maybeTwice(this.world, () => this.world.swarm.removeNode(nodeId, force));
  }

  async joinTokens(): Promise<SwarmJoinTokens> {
    await this.asManager('reading join tokens');
    return this.world.swarm.joinTokens();
  }

  async init(): Promise<void> {
    throw new SwarmkeeperError('Conflict', 'initialising a swarm: the simulated agents do that');
  }

  async join(): Promise<void> {
    throw new SwarmkeeperError('Conflict', 'joining a swarm: the simulated agents do that');
  }

  async leave(): Promise<void> {
    throw new SwarmkeeperError('Conflict', 'leaving the swarm: not simulated');
  }

  async close(): Promise<void> {}

  private async asManager(what: string): Promise<void> {
    await reach(this.world, this.instanceId, this.timeoutMs, what);
    const node = [...this.world.swarmNodes.values()].find((n) => n.instanceId === this.instanceId);
    if (node?.role !== 'manager') throw new SwarmkeeperError('Unavailable', `${what}: this node is not a swarm manager`);
  }
}

class SimEtcdClient implements EtcdMembershipApi {
  constructor(
    private readonly world: SimWorld,
    private readonly urls: readonly string[],
    private readonly callTimeoutMs: number,
  ) {}

  view(): Promise<EtcdView> {
    return this.through('reading etcd status', () => this.world.etcd.view());
  }

  listMembers(): Promise<EtcdMember[]> {
    return this.through('listing etcd members', () => this.world.etcd.listMembers());
  }

  addLearner(peerURLs: readonly string[]): Promise<string> {
    return this.through('adding an etcd learner', () => maybeTwice(this.world, () => this.world.etcd.addLearner(peerURLs)));
  }

  promote(memberId: string): Promise<void> {
    return this.through(`promoting etcd member ${memberId}`, () => maybeTwice(this.world, () => this.world.etcd.promote(memberId)));
  }

  removeMember(memberId: string): Promise<void> {
    return this.through(`removing etcd member ${memberId}`, () => maybeTwice(this.world, () => this.world.etcd.removeMember(memberId)));
  }

  moveLeader(toMemberId: string): Promise<void> {
    return this.through(`moving etcd leadership to ${toMemberId}`, () => this.world.etcd.moveLeader(toMemberId));
  }

  async close(): Promise<void> {}

  /** The endpoint that answered last: asked first, as the controller's EtcdMembership does. */
  private answered: string | undefined;

  /** The first endpoint whose member runs and answers the controller carries the call. */
  private async through<T>(what: string, call: () => Promise<T>): Promise<T> {
    const errors: string[] = [];
    const first = this.answered;
    for (const url of first === undefined ? this.urls : [first, ...this.urls.filter((u) => u !== first)]) {
      const host = urlHost(url);
      const inst = this.world.instanceOfAddress(host);
      const member = [...this.world.members.values()].find((m) => urlHost(m.clientURL) === host && m.startedAt !== undefined);
      try {
        await reach(this.world, inst?.id, this.callTimeoutMs, `${what} at ${url}`);
        if (!member) throw new SwarmkeeperError('Unavailable', `${what} at ${url}: connection refused (no etcd runs there)`);
      } catch (err) {
        errors.push((err as Error).message);
        continue;
      }
      this.answered = url;
      return call();
    }
    throw new SwarmkeeperError('Unavailable', `${what}: no endpoint answered (${errors.join('; ') || 'no endpoint'})`);
  }
}
