// The narrow swarm interface the core uses; the dockerode adapter (docker-swarm.ts) and
// the simulator implement it. Errors: SwarmkeeperError with NotFound (no such node),
// Conflict (stale version index: re-read and retry; also removing a node that is not yet
// down or demoted, or leaving as a manager: a state change still in flight), Unavailable
// (dockerd unreachable, or this engine is not a manager), Unauthorized (bad join token,
// TLS certificate refused).
import type { SwarmAvailability, SwarmNode } from '../model/snapshot.ts';
import type { Role } from '../spec/schema.ts';

export interface SwarmJoinTokens {
  readonly worker: string;
  readonly manager: string;
}

export interface TasksNotMoved {
  readonly count: number;
  /** The scheduler's word on one of them ("no suitable node (...)"), when it said one. */
  readonly why?: string;
}

export interface SwarmInfo {
  /** 'active' once the engine is part of a swarm. */
  readonly localNodeState: 'inactive' | 'pending' | 'active' | 'error' | 'locked';
  readonly nodeId?: string;
  readonly isManager: boolean;
  readonly clusterId?: string;
}

export interface SwarmApi {
  info(): Promise<SwarmInfo>;
  /** All nodes, as a manager sees them. */
  listNodes(): Promise<SwarmNode[]>;
  /** Number of tasks whose desired state is running on the node. */
  runningTasks(nodeId: string): Promise<number>;
  /**
   * Tasks that swarm wants running, of the services that had tasks on the node, and that
   * are not running yet elsewhere: a drained node's tasks have moved once this is 0.
   */
  tasksNotMoved(nodeId: string): Promise<TasksNotMoved>;
  setAvailability(nodeId: string, version: number, availability: SwarmAvailability): Promise<void>;
  setRole(nodeId: string, version: number, role: Role): Promise<void>;
  removeNode(nodeId: string, force: boolean): Promise<void>;
  init(listenAddr: string, advertiseAddr: string): Promise<void>;
  join(remoteAddrs: readonly string[], token: string, listenAddr: string, advertiseAddr: string): Promise<void>;
  joinTokens(): Promise<SwarmJoinTokens>;
  leave(force: boolean): Promise<void>;
  close(): Promise<void>;
}
