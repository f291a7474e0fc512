// The facts a node agent decides from, gathered fresh at every turn of its loop. Failed
// reads become facts ('unread', 'unavailable', false), never exceptions, so the decision
// is always made from what is known.
import { existsSync } from 'node:fs';
import { clusterClientUrls, needsMemberList, type AgentFacts } from './agent-decide.ts';
import type { NodeChild } from './agent-processes.ts';
import type { AgentContext } from './agent-context.ts';
import type { SwarmApi } from '../swarm/port.ts';

/**
 * This node's dockerd as the agent asks it. Whether it has ever answered this agent
 * decides what a failed or slow answer means: before the first answer dockerd is still
 * booting, after it a dockerd that does not answer is gone (the dead-node rule).
 */
export class NodeDockerd {
  private answered = false;

  constructor(private readonly swarm: SwarmApi) {}

  get hasAnswered(): boolean {
    return this.answered;
  }

  /** Whether it answers now. */
  async answers(): Promise<boolean> {
    const state = await this.state();
    return state !== 'booting' && state !== 'unreachable';
  }

  /** Its swarm state; 'booting' or 'unreachable' when the call fails (see above). */
  state(): Promise<AgentFacts['swarmState']> {
    return this.swarm.info().then(
      (i) => {
        this.answered = true;
        return i.localNodeState;
      },
      () => (this.answered ? 'unreachable' : 'booting'),
    );
  }
}

export async function observeNode(ctx: AgentContext, current: NodeChild | undefined, dockerd: NodeDockerd): Promise<AgentFacts> {
  const { config, node, deps } = ctx;
  // Asked together: each turn of a joining node waits on these before it can act.
  const info = dockerd.state();
  const reads = Promise.all([
    config.role === 'manager' ? deps.kv.readClaim().catch(() => 'unread' as const) : undefined,
    deps.kv.readEndpoints().catch(() => undefined),
    deps.kv.hasTokens().catch(() => false),
    // Only a manager about to found the cluster asks; an unreadable order reads as
    // 'unread' so the founder waits rather than start an empty etcd by mistake.
    config.role === 'manager' && !current ? deps.kv.readRecoveryOrder().catch(() => 'unread' as const) : undefined,
  ]);
  // A dockerd that has never answered is booting (on a busy machine for a second or
  // more): the turn goes on without it once the reads are in, and the facts say
  // 'booting'. One that answered before is always waited for.
  const [swarmState, [claim, endpoints, tokensStored, recovery]] = await Promise.all([
    dockerd.hasAnswered ? info : Promise.race([info, reads.then(() => 'booting' as const)]),
    reads,
  ]);
  const etcdRunning = current?.isRunning() ?? false;
  const base: AgentFacts = {
    role: config.role,
    instanceId: node.instanceId,
    address: node.address,
    etcdDataPresent: config.role === 'manager' && existsSync(ctx.paths.etcdMemberDir),
    etcdRunning,
    ...(current?.kind === 'gateway' ? { gatewayEndpoints: current.endpoints } : {}),
    claim: recovery === 'unread' ? 'unread' : claim,
    ...(endpoints ? { endpoints } : {}),
    tokensStored,
    swarmState,
    ...(typeof recovery === 'object' && recovery.phase === 'founding' ? { restoreFrom: recovery.backup } : {}),
    // Asked after the reads above: the first of them brings the answer that writes the files.
    ...(deps.awaitsDockerRestart?.() ? { dockerRestartAwaited: true } : {}),
  };
  const clientUrls = clusterClientUrls(base);
  if (!needsMemberList(base) || !clientUrls) return base;
  const members = await deps.listClusterMembers(clientUrls).catch(() => 'unavailable' as const);
  return { ...base, members };
}
