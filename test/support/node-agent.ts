// Runs the node agent in-process against real peers (a management etcd, the node's real
// dockerd), recording every action it decides. stop() aborts it (the agent stops its
// etcd member or gateway) and then removes whatever its pid files still name, so a
// failing test leaves no etcd behind.
import { Etcd3 } from 'etcd3';
import { silentLogger, type Logger } from '../../src/log.ts';
import type { AgentAction } from '../../src/node/agent-decide.ts';
import { stopLeftoverProcesses } from '../../src/node/agent-processes.ts';
import { EtcdManagementKv, type ManagementKv } from '../../src/store/management-kv.ts';
import { nodeAgentPaths, runNodeAgent, type NodeAgentExit, type NodeIdentity } from '../../src/node/node-agent.ts';
import { listMembersVia } from '../../src/cli/commands/node.ts';
import type { Role } from '../../src/spec/schema.ts';
import type { SwarmApi } from '../../src/swarm/port.ts';

export interface TestAgent {
  readonly identity: NodeIdentity;
  readonly actions: AgentAction[];
  readonly done: Promise<NodeAgentExit>;
  /** Resolves when the agent decides an action matching `pred` (checks past actions too). */
  waitFor(pred: (a: AgentAction) => boolean, timeoutMs?: number): Promise<AgentAction>;
  stop(): Promise<void>;
}

export interface TestAgentOptions {
  readonly cluster: string;
  readonly role: Role;
  readonly identity: NodeIdentity;
  readonly managementEndpoints: readonly string[];
  readonly prefix: string;
  /** A SwarmApi on the node's own dockerd (the caller closes it). */
  readonly swarm: SwarmApi;
  /** The join source; default the management etcd itself (the local provider's). */
  readonly kv?: ManagementKv;
  readonly logger?: Logger;
  /** The agent's limit for a dockerd's first answer (default the agent's own). */
  readonly dockerdBootLimitMs?: number;
}

const running = new Set<TestAgent>();

export function startTestAgent(o: TestAgentOptions): TestAgent {
  const kv = o.kv ?? new EtcdManagementKv(new Etcd3({ hosts: [...o.managementEndpoints] }), o.prefix, o.cluster);
  const abort = new AbortController();
  const actions: AgentAction[] = [];
  const waiters: { pred: (a: AgentAction) => boolean; resolve: (a: AgentAction) => void }[] = [];
  const done = runNodeAgent(
    { cluster: o.cluster, role: o.role, managementEtcd: { endpoints: [...o.managementEndpoints], prefix: o.prefix } },
    o.identity,
    {
      kv,
      swarm: o.swarm,
      listClusterMembers: listMembersVia,
      logger: o.logger ?? silentLogger(),
      signal: abort.signal,
      steadyPollMs: 500,
      ...(o.dockerdBootLimitMs === undefined ? {} : { dockerdBootLimitMs: o.dockerdBootLimitMs }),
      onAction: (a) => {
        actions.push(a);
        for (const w of [...waiters]) {
          if (w.pred(a)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(a);
          }
        }
      },
    },
  );
  const agent: TestAgent = {
    identity: o.identity,
    actions,
    done,
    waitFor: (pred, timeoutMs = 90_000) => {
      const seen = actions.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `agent ${o.identity.instanceId}: no matching action within ${timeoutMs} ms; last: ${JSON.stringify(actions.at(-1))}`,
              ),
            ),
          timeoutMs,
        );
        const onDone = (a: AgentAction): void => {
          clearTimeout(timer);
          resolve(a);
        };
        waiters.push({ pred, resolve: onDone });
        void done.then(() => {
          clearTimeout(timer);
          reject(new Error(`agent ${o.identity.instanceId} exited before a matching action`));
        });
      });
    },
    stop: async () => {
      abort.abort();
      await done.catch(() => undefined);
      await kv.close();
      await stopLeftoverProcesses(nodeAgentPaths(o.identity.dataDir));
      running.delete(agent);
    },
  };
  running.add(agent);
  return agent;
}

/** The agents started by this module and not stopped yet. */
export function runningTestAgents(): ReadonlySet<TestAgent> {
  return running;
}

/** Stops every agent started by this module (afterAll). */
export async function stopAllTestAgents(): Promise<void> {
  await Promise.all([...running].map((a) => a.stop()));
}
