// SwarmApi over one node's Docker Engine API (dockerode). The controller builds one per
// node it needs to talk to: a manager for node listing and changes, any node for
// init/join/leave of that node itself.
//
// Contracts beyond port.ts:
// - Node updates send the node's full current spec (swarm replaces the whole spec, so a
//   partial body would wipe labels) with the caller's version index; on "update out of
//   sequence" the node is re-read and the update retried once, then Conflict.
//   An update whose target value is already in the spec is a no-op.
// - setRole('worker') returns only once the demotion is OBSERVED (the node has left the
//   manager raft: no ManagerStatus), since swarm demotes asynchronously; bounded by
//   `demoteTimeoutMs`, then Unavailable.
// - listNodes() reports the OBSERVED role (manager = member of the manager raft) in `role`
//   and the requested one in `desiredRole`: a promotion or demotion in flight shows as a
//   difference between the two.
// - Errors never carry join tokens (docker-errors.ts scrubs them).
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import Docker from 'dockerode';
import { SwarmkeeperError } from '../errors.ts';
import type { DockerEndpoint } from './docker-endpoint.ts';
import type { ManagerReachability, SwarmAvailability, SwarmNode, SwarmNodeState } from '../model/snapshot.ts';
import type { Role } from '../spec/schema.ts';
import type { SwarmApi, SwarmInfo, SwarmJoinTokens, TasksNotMoved } from './port.ts';
import { toSwarmError } from './docker-errors.ts';
import { backoffDelay, sleep } from '../retry.ts';

/** The parts of the Engine API's Node object (API 1.41) this adapter reads. */
interface ApiNode {
  ID: string;
  Version?: { Index?: number };
  Spec?: { Role?: string; Availability?: string; Labels?: Record<string, string>; Name?: string };
  Description?: { Hostname?: string; Engine?: { Labels?: Record<string, string> } };
  Status?: { State?: string; Addr?: string };
  ManagerStatus?: { Leader?: boolean; Reachability?: string; Addr?: string };
}

export interface DockerSwarmOptions {
  /** Per-request timeout; default 60 s (a join waits for the manager to admit the node). */
  readonly requestTimeoutMs?: number;
  /** Bound on waiting to observe a demotion; default 60 s. */
  readonly demoteTimeoutMs?: number;
}

export const INSTANCE_LABEL = 'swarmkeeper.instance';

/** Task states in which the container may still run. */
const UP_STATES: ReadonlySet<string> = new Set(['assigned', 'accepted', 'preparing', 'starting', 'running']);
/** Desired states of a task swarm means to run (`ready`: a replacement waiting for its predecessor to stop). */
const WANTED: ReadonlySet<string> = new Set(['ready', 'running']);

export class DockerSwarm implements SwarmApi {
  private readonly docker: Docker;
  private readonly agent: HttpAgent;
  private readonly demoteTimeoutMs: number;
  /** Where this adapter points, for error messages (never credentials). */
  readonly target: string;

  constructor(endpoint: DockerEndpoint, opts: DockerSwarmOptions = {}) {
    const timeout = opts.requestTimeoutMs ?? 60_000;
    this.demoteTimeoutMs = opts.demoteTimeoutMs ?? 60_000;
    if ('socketPath' in endpoint) {
      if (!endpoint.socketPath) throw new SwarmkeeperError('Usage', 'docker endpoint: socketPath is empty');
      this.agent = new HttpAgent({ keepAlive: true });
      this.docker = new Docker({ socketPath: endpoint.socketPath, timeout, agent: this.agent } as Docker.DockerOptions);
      this.target = `unix://${endpoint.socketPath}`;
    } else {
      // Never plain TCP (design: the docker API is root on the node): TLS with a client certificate.
      for (const field of ['host', 'ca', 'cert', 'key'] as const) {
        if (!endpoint[field])
          throw new SwarmkeeperError('Usage', `docker endpoint: ${field} is required for a TCP endpoint (TLS only, never plain TCP)`);
      }
      if (!Number.isInteger(endpoint.port) || endpoint.port <= 0 || endpoint.port > 65535) {
        throw new SwarmkeeperError('Usage', `docker endpoint: port ${endpoint.port} is not a TCP port`);
      }
      this.agent = new HttpsAgent({ keepAlive: true });
      this.docker = new Docker({
        protocol: 'https',
        host: endpoint.host,
        port: endpoint.port,
        ca: endpoint.ca,
        cert: endpoint.cert,
        key: endpoint.key,
        timeout,
        agent: this.agent,
      } as Docker.DockerOptions);
      this.target = `https://${endpoint.host}:${endpoint.port}`;
    }
  }

  async info(): Promise<SwarmInfo> {
    const info = (await this.call('reading engine info', () => this.docker.info())) as {
      Swarm?: { LocalNodeState?: string; NodeID?: string; ControlAvailable?: boolean; Cluster?: { ID?: string } };
    };
    const s = info.Swarm ?? {};
    const state = s.LocalNodeState ?? 'inactive';
    return {
      localNodeState: (['inactive', 'pending', 'active', 'error', 'locked'].includes(state)
        ? state
        : 'error') as SwarmInfo['localNodeState'],
      isManager: s.ControlAvailable === true,
      ...(s.NodeID ? { nodeId: s.NodeID } : {}),
      ...(s.Cluster?.ID ? { clusterId: s.Cluster.ID } : {}),
    };
  }

  async listNodes(): Promise<SwarmNode[]> {
    const nodes = (await this.call('listing swarm nodes', () => this.docker.listNodes())) as ApiNode[];
    return nodes.map(toSwarmNode);
  }

  async runningTasks(nodeId: string): Promise<number> {
    const tasks = await this.call(`listing tasks of node ${nodeId}`, () =>
      this.docker.listTasks({ filters: { node: [nodeId], 'desired-state': ['running'] } }),
    );
    return tasks.length;
  }

  /**
   * Measured on dockerd 20.10: right after a drain the node's tasks are desired
   * `shutdown` but still running until their containers stop, and their replacements
   * wait as desired `ready` (not `running`) until then. So both count: tasks still up on
   * the node, and the services' tasks desired ready or running that do not run yet.
   */
  async tasksNotMoved(nodeId: string): Promise<TasksNotMoved> {
    const tasks = await this.call(`listing tasks displaced from node ${nodeId}`, () => this.docker.listTasks());
    const onNode = tasks.filter((t) => t.NodeID === nodeId);
    const services = new Set(onNode.map((t) => t.ServiceID));
    const stillUp = onNode.filter((t) => UP_STATES.has(t.Status?.State ?? ''));
    const waiting = tasks.filter(
      (t) => services.has(t.ServiceID) && t.NodeID !== nodeId && WANTED.has(t.DesiredState ?? '') && t.Status?.State !== 'running',
    );
    const why = waiting.map((t) => t.Status?.Err || t.Status?.Message).find((m) => m);
    return { count: stillUp.length + waiting.length, ...(why ? { why } : {}) };
  }

  setAvailability(nodeId: string, version: number, availability: SwarmAvailability): Promise<void> {
    return this.updateNode(nodeId, version, 'Availability', availability, `setting availability of node ${nodeId} to ${availability}`);
  }

  async setRole(nodeId: string, version: number, role: Role): Promise<void> {
    await this.updateNode(nodeId, version, 'Role', role, `${role === 'worker' ? 'demoting' : 'promoting'} node ${nodeId}`);
    if (role === 'worker') await this.waitDemoted(nodeId);
  }

  async removeNode(nodeId: string, force: boolean): Promise<void> {
    await this.call(`removing node ${nodeId}`, () => this.docker.getNode(nodeId).remove({ force }));
  }

  async init(listenAddr: string, advertiseAddr: string): Promise<void> {
    await this.call(`initialising a swarm on ${advertiseAddr}`, () =>
      this.docker.swarmInit({ ListenAddr: listenAddr, AdvertiseAddr: advertiseAddr, ForceNewCluster: false }),
    );
  }

  async join(remoteAddrs: readonly string[], token: string, listenAddr: string, advertiseAddr: string): Promise<void> {
    if (remoteAddrs.length === 0) throw new SwarmkeeperError('Usage', 'joining a swarm: no manager address given');
    await this.call(
      `joining the swarm of ${remoteAddrs.join(',')} as ${advertiseAddr}`,
      () =>
        this.docker.swarmJoin({ ListenAddr: listenAddr, AdvertiseAddr: advertiseAddr, RemoteAddrs: [...remoteAddrs], JoinToken: token }),
      [token],
    );
  }

  async joinTokens(): Promise<SwarmJoinTokens> {
    const swarm = (await this.call('reading swarm join tokens', () => this.docker.swarmInspect())) as {
      JoinTokens?: { Worker?: string; Manager?: string };
    };
    const { Worker, Manager } = swarm.JoinTokens ?? {};
    if (!Worker || !Manager) throw new SwarmkeeperError('Internal', `reading swarm join tokens from ${this.target}: the answer has none`);
    return { worker: Worker, manager: Manager };
  }

  async leave(force: boolean): Promise<void> {
    await this.call('leaving the swarm', () => this.docker.swarmLeave({ force }));
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }

  private async inspectNode(nodeId: string): Promise<ApiNode> {
    return (await this.call(`inspecting node ${nodeId}`, () => this.docker.getNode(nodeId).inspect())) as ApiNode;
  }

  private async updateNode(nodeId: string, version: number, field: 'Role' | 'Availability', value: string, context: string): Promise<void> {
    let node = await this.inspectNode(nodeId);
    let useVersion = version;
    for (let attempt = 0; ; attempt++) {
      if (node.Spec?.[field] === value) return;
      const body = { ...(node.Spec ?? {}), [field]: value };
      try {
        await this.call(context, () => this.docker.getNode(nodeId).update({ _query: { version: useVersion }, _body: body }));
        return;
      } catch (err) {
        if (attempt > 0 || !(err instanceof SwarmkeeperError) || err.code !== 'Conflict') throw err;
        node = await this.inspectNode(nodeId);
        useVersion = node.Version?.Index ?? useVersion;
      }
    }
  }

  /** Polls until the node has left the manager raft (see the header). */
  private async waitDemoted(nodeId: string): Promise<void> {
    const deadline = Date.now() + this.demoteTimeoutMs;
    for (let polls = 1; ; polls++) {
      try {
        const node = await this.inspectNode(nodeId);
        if (!node.ManagerStatus) return;
      } catch (err) {
        // Demoting the very node we talk to: it stops answering manager calls once demoted.
        if (!(err instanceof SwarmkeeperError) || err.code !== 'Unavailable') throw err;
        const me = await this.info().catch(() => undefined);
        if (me?.nodeId === nodeId && !me.isManager) return;
      }
      if (Date.now() > deadline) {
        throw new SwarmkeeperError(
          'Unavailable',
          `demoting node ${nodeId}: still a member of the manager raft after ${this.demoteTimeoutMs} ms`,
          {
            details: { nodeId },
          },
        );
      }
      await sleep(backoffDelay(polls, { initialMs: 100, maxMs: 1_000 }));
    }
  }

  private async call<T>(context: string, fn: () => Promise<T>, secrets: readonly string[] = []): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toSwarmError(`${context} (${this.target})`, err, secrets);
    }
  }
}

/** Maps the Engine API's node to the snapshot's SwarmNode (exported for unit tests). */
export function toSwarmNode(n: ApiNode): SwarmNode {
  const ms = n.ManagerStatus;
  const instanceId = n.Description?.Engine?.Labels?.[INSTANCE_LABEL];
  const desiredRole: Role = n.Spec?.Role === 'manager' ? 'manager' : 'worker';
  return {
    id: n.ID,
    role: ms ? 'manager' : 'worker',
    desiredRole,
    availability: oneOf(n.Spec?.Availability, ['active', 'pause', 'drain'] as const, 'active'),
    state: oneOf(n.Status?.State, ['ready', 'down', 'unknown', 'disconnected'] as const, 'unknown') as SwarmNodeState,
    ...(ms
      ? { reachability: oneOf(ms.Reachability, ['reachable', 'unreachable', 'unknown'] as const, 'unknown') as ManagerReachability }
      : {}),
    leader: ms?.Leader === true,
    ...(instanceId ? { instanceId } : {}),
    address: nodeAddress(n),
    version: n.Version?.Index ?? 0,
  };
}

/**
 * A manager's raft address (its advertise address) when it has one, else Status.Addr.
 * Status.Addr is the source address of the node's connection as the manager saw it: on
 * loopback that is 127.0.0.1 for every node (measured), on a real network the node's
 * private address. Map nodes to instances by `instanceId`, not by address.
 */
function nodeAddress(n: ApiNode): string {
  const raft = n.ManagerStatus?.Addr;
  if (raft) return raft.replace(/:\d+$/, '');
  return n.Status?.Addr ?? '';
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T): T {
  return allowed.includes(value as T) ? (value as T) : fallback;
}
