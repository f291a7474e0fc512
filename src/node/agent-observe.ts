// The facts a node agent decides from, gathered fresh at every turn of its loop. Failed
// reads become facts ('unread', 'unavailable', false), never exceptions, so the decision
// is always made from what is known.
import { existsSync } from 'node:fs';
import { clusterClientUrls, needsMemberList, type AgentFacts } from './agent-decide.ts';
import type { NodeChild } from './agent-processes.ts';
import type { AgentContext } from './agent-context.ts';

export async function observeNode(ctx: AgentContext, current: NodeChild | undefined): Promise<AgentFacts> {
  const { config, node, deps } = ctx;
  // Asked together: each turn of a joining node waits on these before it can act.
  const [swarmState, claim, endpoints, tokensStored, recovery] = await Promise.all([
    deps.swarm.info().then(
      (i) => i.localNodeState,
      () => 'unreachable' as const,
    ),
    config.role === 'manager' ? deps.kv.readClaim().catch(() => 'unread' as const) : undefined,
    deps.kv.readEndpoints().catch(() => undefined),
    deps.kv.hasTokens().catch(() => false),
    // Only a manager about to found the cluster asks; an unreadable order reads as
    // 'unread' so the founder waits rather than start an empty etcd by mistake.
    config.role === 'manager' && !current ? deps.kv.readRecoveryOrder().catch(() => 'unread' as const) : undefined,
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
