// executeStep(): the one way a step touches the world. Ordering contract:
//   1. write the step to the journal (pending) BEFORE anything else happens;
//   2. re-check the step's precondition on a fresh view (the world may have moved since
//      the plan): deps.observe(step) re-reads what the step depends on; a failed check
//      ends the step as failed with a Precondition error and nothing was done;
//   3. mark it running, run it through the ports, mark it done or failed.
// Every journal write is fenced by leadership: a deposed leader's first write fails and
// it stops before acting. Steps are idempotent, so resuming an interrupted entry
// (resumeEntry) re-runs it safely.
import { messageOf, SwarmkeeperError } from '../errors.ts';
import type { Instance, Snapshot } from '../model/snapshot.ts';
import type { Step } from '../plan/steps.ts';
import { stepTarget, type JournalEntry } from '../store/journal.ts';
import type { ActDeps } from './context.ts';
import { runEtcdStep } from './etcd-steps.ts';
import { runInstanceStep, type StepResult } from './instance-steps.ts';
import { runSwarmStep } from './swarm-steps.ts';

export interface StepOutcome {
  readonly status: 'done' | 'failed' | 'skipped';
  readonly entry?: JournalEntry;
  readonly result?: string;
  readonly error?: SwarmkeeperError;
  /** The instances a launch produced. */
  readonly instances?: readonly Instance[];
}

export async function executeStep(step: Step, deps: ActDeps): Promise<StepOutcome> {
  deps.signal?.throwIfAborted();
  const entry = await deps.journal.record(deps.cluster, step, { now: deps.now(), fence: deps.fence, leader: deps.leader });
  return runEntry(entry, deps, false);
}

/**
 * Finishes a journal entry left pending or running (by us or a controller that died).
 * A launch that was running when its controller died is issued again even when its
 * instances are listed: the call may have been cut off half-way, and repeating it with
 * the same client token is how the provider completes it without launching anew.
 */
export async function resumeEntry(entry: JournalEntry, deps: ActDeps): Promise<StepOutcome> {
  deps.logger.info(
    { operation: entry.id, step: entry.stepKind, target: entry.target, state: entry.state },
    'Resuming an interrupted operation',
  );
  return runEntry(entry, deps, entry.step.kind === 'instance.launch' && entry.state === 'running');
}

async function runEntry(entry: JournalEntry, deps: ActDeps, repeatIfSatisfied: boolean): Promise<StepOutcome> {
  const step = entry.step;
  const log = deps.logger.child({ step: step.kind, target: stepTarget(step), operation: entry.id });
  const ctx = { ...deps, logger: log };
  const snapshot = await deps.observe(step);
  const verdict = deps.checkPrecondition(step, snapshot, deps.now(), deps.spec);
  if (verdict.status === 'satisfied' && !repeatIfSatisfied) {
    // Its effect is there already (a predecessor ran it, or the world got there): done.
    log.info({ reason: verdict.reason }, 'Step already satisfied');
    const done = await deps.journal.transition(
      deps.cluster,
      entry,
      { state: 'done', result: `already satisfied: ${verdict.reason}` },
      { now: deps.now(), fence: deps.fence },
    );
    return { status: 'done', entry: done, result: done.result };
  }
  if (verdict.status === 'refused') {
    const error = new SwarmkeeperError(
      'Precondition',
      `${step.kind} ${stepTarget(step)}: precondition no longer holds (${verdict.rule}): ${verdict.reason}`,
    );
    log.info({ reason: verdict.reason, rule: verdict.rule }, 'Skipping a step whose precondition no longer holds');
    const done = await deps.journal.transition(
      deps.cluster,
      entry,
      { state: 'failed', error: error.message },
      { now: deps.now(), fence: deps.fence },
    );
    return { status: 'skipped', entry: done, error };
  }
  let running = await deps.journal.transition(
    deps.cluster,
    entry,
    { state: 'running', attempts: entry.attempts + 1 },
    { now: deps.now(), fence: deps.fence },
  );
  log.info({ reason: step.reason, rule: step.rule }, describeStep(step));
  try {
    deps.signal?.throwIfAborted();
    const out = await runStep(step, snapshot, ctx);
    const result = typeof out === 'string' ? out : out.result;
    const instanceIds = typeof out === 'string' ? undefined : out.instanceIds;
    const instances = typeof out === 'string' ? undefined : out.instances;
    if (step.kind === 'cluster.release') {
      // The release removed the journal with every other key: writing `done` would
      // bring one key of the deleted cluster back.
      log.info({ result }, 'Step done');
      return { status: 'done', entry: running, result };
    }
    running = await deps.journal.transition(
      deps.cluster,
      running,
      { state: 'done', result, ...(instanceIds ? { instanceIds } : {}) },
      { now: deps.now(), fence: deps.fence },
    );
    log.info({ result }, 'Step done');
    return { status: 'done', entry: running, result, ...(instances ? { instances } : {}) };
  } catch (err) {
    const error =
      err instanceof SwarmkeeperError
        ? err
        : new SwarmkeeperError('Unavailable', `${step.kind} ${stepTarget(step)}: ${messageOf(err)}`, { cause: err });
    log.warn({ err: error }, 'Step failed');
    // Best effort: when leadership is gone the fenced write fails too, which is right.
    const failed = await deps.journal
      .transition(deps.cluster, running, { state: 'failed', error: error.message }, { now: deps.now(), fence: deps.fence })
      .catch(() => running);
    return { status: 'failed', entry: failed, error };
  }
}

async function runStep(step: Step, snapshot: Snapshot, deps: ActDeps): Promise<string | StepResult> {
  switch (step.kind) {
    case 'etcd.addLearner':
    case 'etcd.promote':
    case 'etcd.removeMember':
    case 'etcd.moveLeader':
      return runEtcdStep(step, snapshot, deps);
    case 'swarm.promote':
    case 'swarm.demote':
    case 'swarm.drain':
    case 'swarm.activate':
    case 'swarm.waitDrained':
    case 'swarm.removeNode':
    case 'swarm.setAvailability':
      return runSwarmStep(step, snapshot, deps);
    case 'instance.launch':
    case 'instance.terminate':
    case 'instance.markOrphan':
    case 'cluster.publishEndpoints':
    case 'cluster.release':
      return runInstanceStep(step, deps);
    case 'backup.create':
      if (!deps.takeBackup) throw new SwarmkeeperError('Unavailable', 'backup.create: this controller has no backup store wired');
      return deps.takeBackup(step, snapshot, deps);
  }
}

/** The log line before an action: an -ing verb and the target (cluster-api's rule). */
export function describeStep(step: Step): string {
  switch (step.kind) {
    case 'instance.launch':
      return `Launching ${step.count} ${step.role}${step.count === 1 ? '' : 's'}`;
    case 'instance.terminate':
      return `Terminating ${step.role} ${step.instanceId}${step.final ? ' (the last node)' : ''}`;
    case 'instance.markOrphan':
      return `Marking ${step.instanceId} as never joined`;
    case 'etcd.addLearner':
      return `Adding etcd learner for ${step.instanceId}`;
    case 'etcd.promote':
      return `Promoting etcd learner ${step.memberId} of ${step.instanceId}`;
    case 'etcd.removeMember':
      return `Removing etcd member ${step.memberId}`;
    case 'etcd.moveLeader':
      return `Moving etcd leadership from ${step.fromMemberId} to ${step.toMemberId}`;
    case 'swarm.promote':
      return `Promoting swarm node of ${step.instanceId} to manager`;
    case 'swarm.demote':
      return `Demoting swarm manager ${step.instanceId}`;
    case 'swarm.drain':
      return `Draining swarm node of ${step.instanceId}`;
    case 'swarm.activate':
      return `Activating swarm node of ${step.instanceId}`;
    case 'swarm.waitDrained':
      return `Waiting for tasks to leave ${step.instanceId}`;
    case 'swarm.removeNode':
      return `Removing swarm node ${step.nodeId}`;
    case 'cluster.publishEndpoints':
      return `Publishing ${step.clientURLs.length} etcd endpoints`;
    case 'backup.create':
      return `Taking a ${step.purpose} backup`;
    case 'swarm.setAvailability':
      return `Setting swarm node of ${step.instanceId} to ${step.availability}`;
    case 'cluster.release':
      return 'Releasing the cluster: removing its keys';
  }
}
