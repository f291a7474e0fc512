// Swarm steps, through an engine that is a manager right now. Updates quote the node's
// version index; a Conflict (someone updated the node first) re-reads and retries. Each
// step checks its goal first, so a repeat is a no-op. Demotion is asynchronous in
// swarmkit: the step only ends when the worker role is observed (design rule 7).
import { SwarmkeeperError } from '../errors.ts';
import type { Snapshot, SwarmAvailability, SwarmNode } from '../model/snapshot.ts';
import type { Step } from '../plan/steps.ts';
import type { SwarmApi } from '../swarm/port.ts';
import { DEFAULT_TIMEOUTS, type ActDeps } from './context.ts';
import { swarmManagerFor } from './peers.ts';
import { pollUntil, retrying } from '../retry.ts';

type SwarmStep = Extract<Step, { kind: `swarm.${string}` }>;

/** Runs `fn` on the node as the engine has it now, again on a Conflict (stale version) or an Unavailable engine. */
type NodeUpdate = (what: string, fn: (node: SwarmNode) => Promise<string>) => Promise<string>;

export async function runSwarmStep(step: SwarmStep, snapshot: Snapshot, deps: ActDeps): Promise<string> {
  const swarm = await swarmManagerFor(deps, snapshot);
  const update: NodeUpdate = (what, fn) =>
    retrying(async () => fn(await findNode(swarm, step.nodeId)), {
      retryOn: ['Conflict', 'Unavailable'],
      deadlineMs: 15_000,
      signal: deps.signal,
      onRetry: (err) => deps.logger.info({ err }, `Retrying ${what}`),
    });
  switch (step.kind) {
    case 'swarm.promote':
      return promoteNode(step.nodeId, swarm, update, deps);
    case 'swarm.demote':
      return demoteNode(step.nodeId, swarm, update, deps);
    case 'swarm.drain':
      return setAvailability(swarm, update, 'draining the node', 'drain', (id) => `node ${id} drained already`);
    case 'swarm.activate':
      // Undo of a drain (a removal that was called off): availability back to active.
      return setAvailability(swarm, update, 'activating the node', 'active', (id) => `node ${id} active already`);
    case 'swarm.setAvailability':
      // An operator request (node cordon, drain, uncordon).
      return setAvailability(
        swarm,
        update,
        `setting the node to ${step.availability}`,
        step.availability,
        (id) => `node ${id} is ${step.availability} already`,
      );
    case 'swarm.waitDrained':
      return waitDrained(step, swarm, deps);
    case 'swarm.removeNode':
      return removeNode(step.nodeId, step.force, swarm, deps);
  }
}

async function promoteNode(nodeId: string, swarm: SwarmApi, update: NodeUpdate, deps: ActDeps): Promise<string> {
  const { swarmPromoteMs } = { ...DEFAULT_TIMEOUTS, ...deps.timeouts };
  const res = await setRole(swarm, update, 'promoting the node', 'manager', 'promoted');
  // Promotion is quick, but the next membership change must see its result: wait
  // until the node is a reachable manager, so the planner's next cycle observes it.
  // Asked every 50 ms (one node listing): it takes well under a second, on the path of
  // every manager add.
  const seen = await pollUntil(
    async () => {
      const n = await findNode(swarm, nodeId);
      return n.role === 'manager' && n.reachability === 'reachable';
    },
    { deadlineMs: swarmPromoteMs, intervalMs: 50, signal: deps.signal },
  );
  if (!seen)
    throw new SwarmkeeperError('Unavailable', `promoting swarm node ${nodeId}: not a reachable manager after ${swarmPromoteMs} ms`);
  return res;
}

async function demoteNode(nodeId: string, swarm: SwarmApi, update: NodeUpdate, deps: ActDeps): Promise<string> {
  const { demoteMs } = { ...DEFAULT_TIMEOUTS, ...deps.timeouts };
  const res = await setRole(swarm, update, 'demoting the node', 'worker', 'demoted');
  // Demotion is asynchronous in swarmkit: done only once the worker role is seen.
  const seen = await pollUntil(async () => (await findNode(swarm, nodeId)).role === 'worker', {
    deadlineMs: demoteMs,
    signal: deps.signal,
  });
  if (!seen) throw new SwarmkeeperError('Unavailable', `demoting swarm node ${nodeId}: worker role not observed after ${demoteMs} ms`);
  return res;
}

function setRole(swarm: SwarmApi, update: NodeUpdate, what: string, role: SwarmNode['role'], done: string): Promise<string> {
  return update(what, async (n) => {
    if (n.role === role) return `node ${n.id} is a ${role}`;
    await swarm.setRole(n.id, n.version, role);
    return `node ${n.id} ${done}`;
  });
}

function setAvailability(
  swarm: SwarmApi,
  update: NodeUpdate,
  what: string,
  availability: SwarmAvailability,
  already: (nodeId: string) => string,
): Promise<string> {
  return update(what, async (n) => {
    if (n.availability === availability) return already(n.id);
    await swarm.setAvailability(n.id, n.version, availability);
    return `node ${n.id} set to ${availability}`;
  });
}

function removeNode(nodeId: string, force: boolean, swarm: SwarmApi, deps: ActDeps): Promise<string> {
  return retrying(
    async () => {
      const nodes = await swarm.listNodes();
      if (!nodes.some((n) => n.id === nodeId)) return `node ${nodeId} already gone`;
      await swarm.removeNode(nodeId, force);
      return `node ${nodeId} removed`;
    },
    { retryOn: ['Unavailable', 'Conflict'], deadlineMs: 15_000, signal: deps.signal },
  );
}

/** Why a wait goes on past its drain timeout, by the rule that planned it. */
const PROCEED_BECAUSE: Partial<Record<Step['rule'], string>> = {
  'operator-request': 'the node stays drained, as the operator asked',
  'cascade-delete': 'going on, the cluster is being deleted',
};

/**
 * Waits until no task runs on the node and its services' tasks run elsewhere, bounded by
 * the step's deadline (the spec's drain timeout). Past it, a `hold` wait fails, so the
 * removal stops with the node drained and joined (the planner then holds it with
 * DrainTimedOut); a `proceed` wait (an unhealthy node) ends and says what had not moved.
 */
async function waitDrained(step: Extract<Step, { kind: 'swarm.waitDrained' }>, swarm: SwarmApi, deps: ActDeps): Promise<string> {
  let left = { running: -1, notMoved: -1, why: '' };
  const settled = async (): Promise<boolean> => {
    const [running, notMoved] = await Promise.all([swarm.runningTasks(step.nodeId), swarm.tasksNotMoved(step.nodeId)]);
    left = { running, notMoved: notMoved.count, why: notMoved.why ?? '' };
    return running === 0 && notMoved.count === 0;
  };
  const drained = await pollUntil(settled, { deadlineMs: Math.max(0, step.deadline - deps.now()), intervalMs: 250, signal: deps.signal });
  if (drained) return `no tasks left on ${step.nodeId}; its services' tasks run elsewhere`;
  const what = `${left.running} task(s) still on ${step.nodeId}, ${left.notMoved} not moved yet${left.why ? ` (${left.why})` : ''}`;
  if (step.onTimeout === 'proceed')
    return `drain timeout passed with ${what}: ${PROCEED_BECAUSE[step.rule] ?? 'removing the unhealthy node anyway'}`;
  throw new SwarmkeeperError(
    'Unavailable',
    `drain of ${step.instanceId} timed out: ${what}; the node stays drained until they run elsewhere`,
  );
}

async function findNode(swarm: SwarmApi, nodeId: string): Promise<SwarmNode> {
  const node = (await swarm.listNodes()).find((n) => n.id === nodeId);
  if (!node) throw new SwarmkeeperError('NotFound', `swarm node ${nodeId} not found`);
  return node;
}
