// The node bootstrap agent (`swarmkeeper node bootstrap`): what a node runs at boot, as a
// long-running service. Each turn of its loop gathers facts (its dockerd's swarm state,
// the management etcd's claim/endpoints/tokens, its etcd process, for a joining manager
// the cluster's member list), asks decideAgentAction() for the next action and carries
// it out. Failed reads are facts ('unread', 'unavailable'), so the decision is always
// made from what is known; a failed action is retried with backoff.
//
// It keeps running to supervise the node's etcd member (managers) or etcd gateway
// (workers): a crashed one is restarted, the gateway follows keys.endpoints (watched).
// When the etcd process dies AND the node's dockerd is gone too, the node is dead (the
// local provider's picture of a failed machine): the agent stops and resolves
// 'node-dead' rather than resurrect half a node; the controller replaces it.
// On abort (SIGTERM) it stops its etcd/gateway and resolves 'stopped'.
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { restoreEtcdSnapshot } from '../etcd/etcd-restore.ts';
import type { Logger } from 'pino';
import { etcdClientUrl, etcdPeerUrl, type EtcdMember } from '../model/snapshot.ts';
import type { SwarmApi } from '../swarm/port.ts';
import type { NodeAgentConfig } from '../protocol/agent-config.ts';
import { clusterClientUrls, decideAgentAction, needsMemberList, type AgentAction, type AgentFacts } from './agent-decide.ts';
import { startNodeEtcd, startNodeGateway, stopLeftoverProcesses, type NodeChild } from './agent-processes.ts';
import type { ManagementKv } from '../store/management-kv.ts';
import { backoffDelay } from '../retry.ts';

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
  /** ec2 managers: whether dockerd is about to restart for TLS files this run wrote (ExchangeKv.awaitsDockerRestart). */
  readonly awaitsDockerRestart?: () => boolean;
}

export type NodeAgentExit = 'stopped' | 'node-dead';

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

export async function runNodeAgent(config: NodeAgentConfig, node: NodeIdentity, deps: NodeAgentDeps): Promise<NodeAgentExit> {
  const log = deps.logger.child({ cluster: config.cluster, instanceId: node.instanceId, role: config.role });
  const paths = nodeAgentPaths(node.dataDir);
  const wake = new Wakeup();
  deps.signal?.addEventListener('abort', () => wake.fire(), { once: true });
  let child: NodeChild | undefined;
  let stopWatch: (() => Promise<void>) | undefined;
  let watchPending = false;
  // In the background: a management etcd that is down must not stop a rebooted node
  // from resuming its own etcd member.
  const startWatch = (): void => {
    if (stopWatch || watchPending || deps.signal?.aborted) return;
    watchPending = true;
    deps.kv
      .watchEndpoints(() => wake.fire())
      .then(
        (stop) => {
          watchPending = false;
          if (deps.signal?.aborted) void stop();
          else stopWatch = stop;
        },
        () => {
          watchPending = false;
        },
      );
  };
  let failures = 0;
  const deaths: number[] = [];
  let lastLogged = '';

  // A previous run of the agent (a reboot, a crash) may have left its etcd or gateway
  // running: stop them, then start afresh from the data dir.
  await stopLeftoverProcesses(paths);
  log.info({ address: node.address }, 'Starting node agent');
  try {
    while (!deps.signal?.aborted) {
      startWatch();
      const childDied = child !== undefined && !child.isRunning();
      const facts = await observe(child);
      if (childDied) {
        if (facts.swarmState === 'unreachable') {
          log.error("Node's etcd exited and its dockerd is gone: the node is dead, stopping");
          return 'node-dead';
        }
        // Crash-looping etcd backs off by how often it died lately, not by failed starts
        // (each start itself succeeds).
        const now = Date.now();
        deaths.push(now);
        while (deaths.length > 0 && (deaths[0] ?? now) < now - 5 * 60_000) deaths.shift();
        log.warn({ process: child?.kind, recentExits: deaths.length }, 'Restarting the etcd process of the node after it exited');
        child = undefined;
        await wake.wait(backoffDelay(deaths.length, AGENT_BACKOFF));
        continue;
      }
      const action = decideAgentAction(facts);
      deps.onAction?.(action);
      const summary = action.kind === 'wait' ? `wait:${action.reason}` : action.kind;
      if (summary !== lastLogged) {
        if (action.kind === 'wait') log.info({ reason: action.reason }, 'Waiting');
        else if (action.kind === 'steady') log.info('Node joined: supervising');
        lastLogged = summary;
      }
      if (action.kind === 'steady') {
        failures = 0;
        await wake.wait(deps.steadyPollMs ?? 2_000);
        continue;
      }
      if (action.kind === 'wait') {
        // Short, and shorter where the decision asks (a later manager waiting for its
        // learner entry is on the convergence path).
        await wake.wait(action.recheckMs ?? 250);
        continue;
      }
      try {
        child = await perform(action, child);
        failures = 0;
      } catch (err) {
        failures++;
        log.warn({ action: action.kind, err, attempt: failures }, 'Action failed, retrying');
        await wake.wait(backoffDelay(failures, AGENT_BACKOFF));
      }
    }
    return 'stopped';
  } finally {
    if (stopWatch) await stopWatch();
    if (child) await child.stop().catch(() => undefined);
    log.info('Node agent stopped');
  }

  async function observe(current: NodeChild | undefined): Promise<AgentFacts> {
    const swarmState = await deps.swarm.info().then(
      (i) => i.localNodeState,
      () => 'unreachable' as const,
    );
    const [claim, endpoints, tokensStored, recovery] = await Promise.all([
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
      etcdDataPresent: config.role === 'manager' && existsSync(paths.etcdMemberDir),
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

  async function perform(action: AgentAction, current: NodeChild | undefined): Promise<NodeChild | undefined> {
    switch (action.kind) {
      case 'claimInit': {
        log.info('Claiming cluster initialisation');
        const won = await deps.kv.claimInit({ instanceId: node.instanceId, address: node.address, claimedAt: new Date().toISOString() });
        log.info({ won }, won ? 'Claimed cluster initialisation' : 'Another node initialises the cluster');
        return current;
      }
      case 'startEtcd': {
        log.info({ mode: action.mode }, 'Starting etcd member');
        const started = await startNodeEtcd({
          name: node.instanceId,
          cluster: config.cluster,
          clientUrl: etcdClientUrl(node.address),
          peerUrl: etcdPeerUrl(node.address),
          mode: action.mode,
          ...(action.mode === 'existing' ? { initialCluster: action.initialCluster } : {}),
          paths,
        });
        log.info({ pid: started.pid }, 'Started etcd member');
        return started;
      }
      case 'restoreEtcd':
        return restoreAndStartEtcd(action.backup);
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
        return startNodeGateway({ endpoints: action.endpoints, listenAddress: node.address, paths });
      }
      case 'wait':
      case 'steady':
        return current;
    }
  }

  /**
   * Restores the recovery order's snapshot (checked against the order's SHA-256, then by
   * etcdctl against its own hash) into a staging dir renamed into place only once whole,
   * so an agent that dies half-way restores again rather than resume a broken member.
   */
  async function restoreAndStartEtcd(backup: string): Promise<NodeChild> {
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
      clusterToken: `sk-${config.cluster}-${node.instanceId}`,
    });
    await rm(paths.etcdDataDir, { recursive: true, force: true });
    await rename(staging, paths.etcdDataDir);
    log.info({ backup, etcdRevision: order.etcdRevision }, 'Restored etcd from the recovery snapshot');
    return startNodeEtcd({
      name: node.instanceId,
      cluster: config.cluster,
      clientUrl: etcdClientUrl(node.address),
      peerUrl: etcdPeerUrl(node.address),
      mode: 'resume',
      paths,
    });
  }
}

const AGENT_BACKOFF = { initialMs: 500, maxMs: 8_000 };

/** A resettable wake-up: wait(ms) resolves after ms or at the next fire(), whichever first. */
class Wakeup {
  private pending: (() => void) | undefined;
  private fired = false;

  fire(): void {
    this.fired = true;
    this.pending?.();
  }

  wait(ms: number): Promise<void> {
    if (this.fired) {
      this.fired = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.pending = undefined;
        this.fired = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.pending = done;
    });
  }
}
