// What every part of the node agent works with: who the node is, the ports it acts
// through, where it keeps its files, and its logger. Built once per run (runNodeAgent).
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { EtcdMember } from '../model/snapshot.ts';
import type { NodeAgentConfig } from '../protocol/agent-config.ts';
import type { ManagementKv } from '../store/management-kv.ts';
import type { SwarmApi } from '../swarm/port.ts';
import type { AgentAction } from './agent-decide.ts';

/** Who this node is: what the provider knows at launch besides the NodeAgentConfig. */
export interface NodeIdentity {
  readonly instanceId: string;
  /** The node's private address; etcd and swarm listen and advertise on it. */
  readonly address: string;
  /** Where the agent keeps etcd data, pid files and logs. */
  readonly dataDir: string;
}

export interface NodeAgentDeps {
  readonly kv: ManagementKv;
  /** This node's own dockerd. */
  readonly swarm: SwarmApi;
  /** Lists the cluster etcd's members through any of `clientUrls`. */
  readonly listClusterMembers: (clientUrls: readonly string[]) => Promise<EtcdMember[]>;
  readonly logger: Logger;
  /** Aborting stops the agent (SIGTERM). */
  readonly signal?: AbortSignal;
  /** Called with every action decided (tests and the CLI's progress output). */
  readonly onAction?: (action: AgentAction) => void;
  /** How often a steady agent re-checks; default 2000 ms. */
  readonly steadyPollMs?: number;
  /** How long a dockerd may take to answer for the first time before the node counts as failed to boot; default 120 s. */
  readonly dockerdBootLimitMs?: number;
  /** ec2 managers: whether dockerd is about to restart for TLS files this run wrote (ExchangeKv.awaitsDockerRestart). */
  readonly awaitsDockerRestart?: () => boolean;
}

export function nodeAgentPaths(dataDir: string) {
  return {
    etcdDataDir: join(dataDir, 'etcd'),
    etcdMemberDir: join(dataDir, 'etcd', 'member'),
    etcdPidFile: join(dataDir, 'etcd.pid'),
    etcdLogFile: join(dataDir, 'etcd.log'),
    gatewayPidFile: join(dataDir, 'gateway.pid'),
    gatewayLogFile: join(dataDir, 'gateway.log'),
  };
}

export interface AgentContext {
  readonly config: NodeAgentConfig;
  readonly node: NodeIdentity;
  readonly deps: NodeAgentDeps;
  readonly paths: ReturnType<typeof nodeAgentPaths>;
  /** Bound to the cluster, instance and role. */
  readonly log: Logger;
}
