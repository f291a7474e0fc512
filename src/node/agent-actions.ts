// Carries out one action the node agent decided (agent-decide.ts) and returns the
// process it supervises afterwards: the etcd member or gateway it started, or the one
// it had. Each action may fail; the loop retries it with backoff.
import { rename, rm } from 'node:fs/promises';
import { restoreEtcdSnapshot } from '../etcd/etcd-restore.ts';
import { etcdClientUrl, etcdPeerUrl } from '../model/snapshot.ts';
import type { AgentAction } from './agent-decide.ts';
import type { InitClaim } from '../protocol/cluster-endpoints.ts';
import { startNodeEtcd, startNodeGateway, type NodeChild, type NodeEtcdOptions } from './agent-processes.ts';
import type { AgentContext } from './agent-context.ts';

export async function performAction(
  ctx: AgentContext,
  action: AgentAction,
  current: NodeChild | undefined,
): Promise<NodeChild | undefined> {
  const { node, deps, log } = ctx;
  switch (action.kind) {
    case 'claimInit':
      await claimInitialisation(ctx);
      return current;
    case 'startEtcd': {
      log.info({ mode: action.mode }, 'Starting etcd member');
      const started = await startNodeEtcd({
        ...nodeEtcdOf(ctx),
        mode: action.mode,
        ...(action.mode === 'existing' ? { initialCluster: action.initialCluster } : {}),
      });
      log.info({ pid: started.pid }, 'Started etcd member');
      return started;
    }
    case 'restoreEtcd':
      return restoreAndStartEtcd(ctx, action.backup);
    case 'swarmInit':
      log.info('Initialising the swarm');
      await deps.swarm.init(`${node.address}:2377`, node.address);
      return current;
    case 'storeTokens':
      log.info('Storing the swarm join tokens');
      await deps.kv.storeTokens(await deps.swarm.joinTokens());
      return current;
    case 'publishEndpoints':
      log.info({ endpoints: action.endpoints }, 'Publishing the cluster endpoints');
      await deps.kv.publishInitialEndpoints(action.endpoints);
      return current;
    case 'joinSwarm': {
      const tokens = await deps.kv.readTokens();
      if (!tokens) throw new Error('the swarm join tokens disappeared');
      log.info({ managers: action.remoteAddrs }, 'Joining the swarm as a worker');
      await deps.swarm.join(action.remoteAddrs, tokens.worker, `${node.address}:2377`, node.address);
      return current;
    }
    case 'startGateway': {
      log.info({ endpoints: action.endpoints }, current ? 'Restarting the etcd gateway' : 'Starting the etcd gateway');
      if (current) await current.stop();
      return startNodeGateway({ endpoints: action.endpoints, listenAddress: node.address, paths: ctx.paths });
    }
    case 'wait':
    case 'steady':
      return current;
  }
}

/** Claims the cluster's initialisation for this node; resolves with the claim when it won. */
export async function claimInitialisation(ctx: AgentContext): Promise<InitClaim | undefined> {
  const { node, deps, log } = ctx;
  log.info('Claiming cluster initialisation');
  const claim: InitClaim = { instanceId: node.instanceId, address: node.address, claimedAt: new Date().toISOString() };
  const won = await deps.kv.claimInit(claim);
  log.info({ won }, won ? 'Claimed cluster initialisation' : 'Another node initialises the cluster');
  return won ? claim : undefined;
}

/** This node's etcd member, whatever the mode it starts in. */
function nodeEtcdOf(ctx: AgentContext): Omit<NodeEtcdOptions, 'mode'> {
  return {
    name: ctx.node.instanceId,
    cluster: ctx.config.cluster,
    clientUrl: etcdClientUrl(ctx.node.address),
    peerUrl: etcdPeerUrl(ctx.node.address),
    paths: ctx.paths,
  };
}

/**
 * Restores the recovery order's snapshot (checked against the order's SHA-256, then by
 * etcdctl against its own hash) into a staging dir renamed into place only once whole,
 * so an agent that dies half-way restores again rather than resume a broken member.
 */
async function restoreAndStartEtcd(ctx: AgentContext, backup: string): Promise<NodeChild> {
  const { node, deps, paths, log } = ctx;
  const order = await deps.kv.readRecoveryOrder();
  if (order?.phase !== 'founding' || order.backup !== backup) throw new Error(`the recovery order for ${backup} changed or disappeared`);
  log.info({ backup, bytes: order.snapshotBytes }, 'Restoring etcd from the recovery snapshot');
  const snapshot = await deps.kv.readRecoverySnapshot(order);
  const staging = `${paths.etcdDataDir}.restoring`;
  await rm(staging, { recursive: true, force: true });
  await restoreEtcdSnapshot(snapshot, {
    name: node.instanceId,
    peerUrl: etcdPeerUrl(node.address),
    dataDir: staging,
    clusterToken: `sk-${ctx.config.cluster}-${node.instanceId}`,
  });
  await rm(paths.etcdDataDir, { recursive: true, force: true });
  await rename(staging, paths.etcdDataDir);
  log.info({ backup, etcdRevision: order.etcdRevision }, 'Restored etcd from the recovery snapshot');
  return startNodeEtcd({ ...nodeEtcdOf(ctx), mode: 'resume' });
}
