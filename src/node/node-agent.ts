// The node bootstrap agent (`swarmkeeper node bootstrap`): what a node runs at boot, as a
// long-running service. Each turn of its loop gathers facts (agent-observe.ts: its
// dockerd's swarm state, the management etcd's claim/endpoints/tokens, its etcd process,
// for a joining manager the cluster's member list), asks decideAgentAction() for the next
// action and carries it out (agent-actions.ts). Failed reads are facts ('unread',
// 'unavailable'), so the decision is always made from what is known; a failed action is
// retried with backoff.
//
// It keeps running to supervise the node's etcd member (managers) or etcd gateway
// (workers): a crashed one is restarted, the gateway follows keys.endpoints (watched).
// When the etcd process dies AND the node's dockerd is gone too, the node is dead (the
// local provider's picture of a failed machine): the agent stops and resolves
// 'node-dead' rather than resurrect half a node; the controller replaces it. So is a
// node whose dockerd never answered within the boot limit: a manager may have claimed
// the cluster and started its first etcd meanwhile (agent-decide.ts), and stopping frees
// that claim for another manager.
// On abort (SIGTERM) it stops its etcd/gateway and resolves 'stopped'.
import type { Logger } from 'pino';
import type { EtcdMember } from '../model/snapshot.ts';
import type { NodeAgentConfig } from '../protocol/agent-config.ts';
import { backoffDelay, pollUntil, sleep } from '../retry.ts';
import { claimInitialisation, performAction } from './agent-actions.ts';
import { nodeAgentPaths, type AgentContext, type NodeAgentDeps, type NodeIdentity } from './agent-context.ts';
import { decideAgentAction, type AgentAction, type AgentFacts } from './agent-decide.ts';
import { NodeDockerd, observeNode } from './agent-observe.ts';
import { stopLeftoverProcesses, type NodeChild } from './agent-processes.ts';
import { EndpointsWatch, Wakeup } from './agent-wakeups.ts';

export { nodeAgentPaths, type NodeAgentDeps, type NodeIdentity } from './agent-context.ts';

export type NodeAgentExit = 'stopped' | 'node-dead';

const AGENT_BACKOFF = { initialMs: 500, maxMs: 8_000 };
/** The pause after a turn that found nothing to do. */
const WAIT_MS = 250;
/** How often a waiting turn asks again for an event it watches on its own (waitFor). */
const EVENT_POLL_MS = 25;
/** How long a joined node watches for its learner entry alone before a full turn. */
const LEARNER_ALONE_WAIT_MS = 2_000;
/** How long a booting dockerd may take to answer first (the local provider waits 90 s for it). */
const DOCKERD_BOOT_LIMIT_MS = 120_000;

/** What the loop carries from one turn to the next. */
interface LoopState {
  child: NodeChild | undefined;
  /** Failed actions in a row. */
  failures: number;
  /** When the supervised process exited lately (the last 5 minutes). */
  readonly deaths: number[];
  /** The supervised process exited and has not been started again yet. */
  exitedNotRestarted: boolean;
  /** The last decision logged, so a repeated wait is logged once. */
  lastLogged: string;
  readonly dockerd: NodeDockerd;
  /** When the loop started (ms since the epoch): the boot limit counts from here. */
  readonly startedAt: number;
}

/** After a turn: pause this long (ms) before the next, go on at once, or stop: the node is dead. */
type TurnOutcome = number | 'at-once' | 'node-dead';

export async function runNodeAgent(config: NodeAgentConfig, node: NodeIdentity, deps: NodeAgentDeps): Promise<NodeAgentExit> {
  const ctx: AgentContext = {
    config,
    node,
    deps,
    paths: nodeAgentPaths(node.dataDir),
    log: deps.logger.child({ cluster: config.cluster, instanceId: node.instanceId, role: config.role }),
  };
  const wake = new Wakeup();
  deps.signal?.addEventListener('abort', () => wake.fire(), { once: true });
  const watch = new EndpointsWatch(deps.kv, () => wake.fire(), deps.signal);
  const state: LoopState = {
    child: undefined,
    failures: 0,
    deaths: [],
    exitedNotRestarted: false,
    lastLogged: '',
    dockerd: new NodeDockerd(deps.swarm),
    startedAt: Date.now(),
  };

  // A previous run of the agent (a reboot, a crash) may have left its etcd or gateway
  // running: stop them, then start afresh from the data dir.
  await stopLeftoverProcesses(ctx.paths);
  ctx.log.info({ address: node.address }, 'Starting node agent');
  try {
    while (!deps.signal?.aborted) {
      watch.ensureStarted();
      const outcome = await turn(ctx, state);
      if (outcome === 'node-dead') return 'node-dead';
      if (outcome !== 'at-once') await wake.wait(outcome);
    }
    return 'stopped';
  } finally {
    await watch.stop();
    if (state.child) await state.child.stop().catch(() => undefined);
    ctx.log.info('Node agent stopped');
  }
}

/**
 * One turn of the loop: observe, decide, act. Where what the turn itself just learned is
 * the one fact the next decision waited on (the founder's won claim, a later manager's
 * learner entry), it decides again on its facts with it and starts etcd in the same turn.
 */
async function turn(ctx: AgentContext, s: LoopState): Promise<TurnOutcome> {
  const facts = await observeNode(ctx, s.child, s.dockerd);
  // Asked after the observation, so an exit during it counts too. Its dockerd answer may
  // predate the exit: whether the node is dead is judged at the next turn, on fresh facts.
  if (s.child !== undefined && !s.child.isRunning()) return afterChildExit(ctx, s);
  if (s.exitedNotRestarted && facts.swarmState === 'unreachable') {
    ctx.log.error("Node's etcd exited and its dockerd is gone: the node is dead, stopping");
    return 'node-dead';
  }
  const bootLimitMs = ctx.deps.dockerdBootLimitMs ?? DOCKERD_BOOT_LIMIT_MS;
  if (facts.swarmState === 'booting' && Date.now() - s.startedAt > bootLimitMs) {
    ctx.log.error({ limitMs: bootLimitMs }, "Node's dockerd never answered: the node failed to boot, stopping");
    return 'node-dead';
  }
  const decide = (known: AgentFacts): AgentAction => {
    const decided = decideAgentAction(known);
    ctx.deps.onAction?.(decided);
    logDecision(ctx.log, s, decided);
    return decided;
  };
  let action = decide(facts);
  if (action.kind === 'wait') {
    const waited = await waitFor(ctx, action, facts, s.dockerd);
    if (typeof waited !== 'object') return waited;
    // The learner entry appeared: decide again on this turn's facts with the list that
    // shows it (the others are a moment old and nothing else was awaited), instead of
    // observing everything once more before starting etcd.
    action = decide({ ...facts, members: waited.members });
    if (!startsEtcd(action)) return 'at-once';
  }
  if (action.kind === 'steady') {
    s.failures = 0;
    return ctx.deps.steadyPollMs ?? 2_000;
  }
  try {
    if (action.kind === 'claimInit') {
      const claim = await claimInitialisation(ctx);
      s.failures = 0;
      // Won: this node founds the cluster and starting its etcd is what the next turn
      // would decide; decided on this turn's facts with the claim instead of after
      // observing everything again (the founder's etcd is the start of every join).
      if (!claim) return 'at-once';
      action = decide({ ...facts, claim });
      if (!startsEtcd(action)) return 'at-once';
    }
    s.child = await performAction(ctx, action, s.child);
    if (s.child?.isRunning()) s.exitedNotRestarted = false;
    s.failures = 0;
    return 'at-once';
  } catch (err) {
    s.failures++;
    ctx.log.warn({ action: action.kind, err, attempt: s.failures }, 'Action failed, retrying');
    return backoffDelay(s.failures, AGENT_BACKOFF);
  }
}

function startsEtcd(a: AgentAction): boolean {
  return a.kind === 'startEtcd' || a.kind === 'restoreEtcd';
}

/**
 * A turn that found nothing to do. Most waits look again at the wait pace. Two awaited
 * events are on every node's way in and are watched on their own, more often, so the
 * next turn starts as soon as they happen (without reading everything more often):
 * - a booting node's dockerd answering (every first step waits on it; a refused connect
 *   on its socket costs nothing);
 * - a later manager's learner entry in the cluster's member list: etcd's 5 s window for
 *   the next member add starts only once this member runs, and a turn's full
 *   observation (dockerd's info on a swarm manager above all) takes 0.1-0.4 s on a
 *   busy machine. With its swarm side joined there is nothing else to wait for, so the
 *   list alone is watched for longer between full turns. Resolves with the list that
 *   shows the entry.
 */
async function waitFor(
  ctx: AgentContext,
  action: Extract<AgentAction, { kind: 'wait' }>,
  facts: AgentFacts,
  dockerd: NodeDockerd,
): Promise<TurnOutcome | { readonly members: EtcdMember[] }> {
  const { deps } = ctx;
  const poll = (check: () => Promise<boolean>, deadlineMs: number) =>
    pollUntil(check, { deadlineMs, intervalMs: EVENT_POLL_MS, signal: deps.signal }).catch(() => false);
  if (facts.swarmState === 'unreachable' || facts.swarmState === 'booting') {
    // Each ask is bounded too: a dockerd can accept a connection and not answer (one
    // still starting up, or stopped), and the loop must come round to judge the boot limit.
    const answers = () => Promise.race([dockerd.answers(), sleep(WAIT_MS, deps.signal).then(() => false)]);
    await poll(answers, WAIT_MS);
    return 'at-once';
  }
  const entry = action.learnerEntry;
  if (!entry) return WAIT_MS;
  let members: EtcdMember[] = [];
  const listed = await poll(
    async () => {
      members = await deps.listClusterMembers(entry.clientUrls);
      return members.some((m) => m.peerURLs.includes(entry.peerUrl));
    },
    facts.swarmState === 'active' ? LEARNER_ALONE_WAIT_MS : WAIT_MS,
  );
  return listed ? { members } : 'at-once';
}

/**
 * The supervised process exited. The next turn decides on fresh facts: with dockerd gone
 * too the node is dead; otherwise the process is started again, after a pause that grows
 * with how often it died lately (each start itself succeeds, so failed starts do not
 * count a crash loop). The pause is also the time a dying machine's dockerd has to go.
 */
function afterChildExit(ctx: AgentContext, s: LoopState): TurnOutcome {
  const now = Date.now();
  s.deaths.push(now);
  while (s.deaths.length > 0 && (s.deaths[0] ?? now) < now - 5 * 60_000) s.deaths.shift();
  ctx.log.warn({ process: s.child?.kind, recentExits: s.deaths.length }, 'The etcd process of the node exited');
  s.child = undefined;
  s.exitedNotRestarted = true;
  return backoffDelay(s.deaths.length, AGENT_BACKOFF);
}

/** Logs a decision when it differs from the last one logged (a wait repeats every turn). */
function logDecision(log: Logger, s: LoopState, action: AgentAction): void {
  const summary = action.kind === 'wait' ? `wait:${action.reason}` : action.kind;
  if (summary === s.lastLogged) return;
  if (action.kind === 'wait') log.info({ reason: action.reason }, 'Waiting');
  else if (action.kind === 'steady') log.info('Node joined: supervising');
  s.lastLogged = summary;
}
