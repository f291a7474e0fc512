// A small executor for tests: runs planned steps through the port interfaces, each one
// journaled first and preceded by checkPrecondition() on a FRESH observation (the
// production executor is src/act, by the controller engineer). Waiting steps (demote,
// promote, wait-for-drain) advance the world's virtual clock while they poll.
import type { HealthMark, Operation, Snapshot } from '../../../src/model/snapshot.ts';
import { isSwarmkeeperError } from '../../../src/errors.ts';
import { checkPrecondition } from '../../../src/plan/preconditions.ts';
import type { Step } from '../../../src/plan/steps.ts';
import { targetOf } from '../../../src/plan/targets.ts';
import type { ResolvedSpec } from '../../../src/spec/defaults.ts';
import type { SimWorld } from '../../../src/providers/sim/index.ts';

export interface JournalEntry extends Operation {
  readonly step: Step;
}

export type StepOutcome = 'done' | 'satisfied' | 'refused' | 'failed';

export class HarnessExecutor {
  readonly journal: JournalEntry[] = [];
  readonly orphanMarks: HealthMark[] = [];
  private seq = 0;

  constructor(
    private readonly world: SimWorld,
    private readonly observe: () => Promise<Snapshot>,
  ) {}

  operations(): Operation[] {
    // The journal keeps the last 200 entries, as the real one prunes finished ones.
    return this.journal.slice(-200).map(({ step: _step, ...op }) => op);
  }

  /** Journals `step` as pending and returns the entry (the crash point tests use). */
  record(step: Step): JournalEntry {
    this.seq += 1;
    const entry: JournalEntry = { id: String(this.seq).padStart(8, '0'), stepKind: step.kind, target: targetOf(step), startedAt: this.world.now, state: 'pending', attempts: 0, step };
    this.journal.push(entry);
    return entry;
  }

  setState(entry: JournalEntry, state: Operation['state'], error?: string): void {
    // Entries are updated in place: the caller keeps its reference.
    const e = entry as { state: Operation['state']; error?: string; attempts: number };
    e.state = state;
    if (state === 'running') e.attempts += 1;
    if (error !== undefined) e.error = error;
  }

  /** Precondition on a fresh snapshot, then the step; the journal entry must exist. */
  async run(spec: ResolvedSpec, entry: JournalEntry, check?: (step: Step, fresh: Snapshot) => void): Promise<StepOutcome> {
    const fresh = await this.observe();
    const pre = checkPrecondition(entry.step, fresh, this.world.now, spec);
    if (pre.status === 'satisfied') {
      this.setState(entry, 'done');
      return 'satisfied';
    }
    if (pre.status === 'refused') {
      this.setState(entry, 'failed', `${pre.rule}: ${pre.reason}`);
      return 'refused';
    }
    check?.(entry.step, fresh);
    this.setState(entry, 'running');
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await this.apply(spec, entry.step);
        this.setState(entry, 'done');
        return 'done';
      } catch (err) {
        if (!isSwarmkeeperError(err) || attempt === 3) {
          this.setState(entry, 'failed', String(err));
          return 'failed';
        }
        this.world.advance(1000 * attempt);
        // Re-check: a retry after a lost answer may find the effect already there.
        const again = checkPrecondition(entry.step, await this.observe(), this.world.now, spec);
        if (again.status === 'satisfied') {
          this.setState(entry, 'done');
          return 'satisfied';
        }
        if (again.status === 'refused') {
          this.setState(entry, 'failed', again.reason);
          return 'refused';
        }
      }
    }
    return 'failed';
  }

  private async apply(spec: ResolvedSpec, step: Step): Promise<void> {
    const w = this.world;
    switch (step.kind) {
      case 'instance.launch':
        await w.provider.launch({
          spec,
          role: step.role,
          count: step.count,
          clientToken: step.clientToken,
          configHash: step.configHash,
          ...(step.zone === undefined ? {} : { zone: step.zone }),
          agent: { cluster: spec.name, role: step.role, managementEtcd: { endpoints: [], prefix: '/swarmkeeper' } },
        });
        return;
      case 'instance.terminate':
        return w.provider.terminate(spec.name, step.instanceId);
      case 'instance.markOrphan':
        this.orphanMarks.push({ instanceId: step.instanceId, source: 'detector:startup', reason: step.reason, since: w.now });
        return;
      case 'etcd.addLearner':
        await w.etcd.addLearner([step.peerURL]);
        return;
      case 'etcd.promote':
        return this.poll(() => w.etcd.promote(step.memberId).then(() => true), 30_000);
      case 'etcd.removeMember':
        return w.etcd.removeMember(step.memberId);
      case 'etcd.moveLeader':
        return w.etcd.moveLeader(step.toMemberId);
      case 'swarm.promote':
      case 'swarm.demote': {
        const role = step.kind === 'swarm.promote' ? 'manager' : 'worker';
        const node = (await w.swarm.listNodes()).find((n) => n.id === step.nodeId);
        if (!node) return;
        if (node.role !== role) await w.swarm.setRole(step.nodeId, node.version, role);
        // Demotion is asynchronous: wait to SEE the new role (rule 7).
        return this.poll(async () => (await w.swarm.listNodes()).find((n) => n.id === step.nodeId)?.role === role, 60_000);
      }
      case 'swarm.drain': {
        const node = (await w.swarm.listNodes()).find((n) => n.id === step.nodeId);
        if (node && node.availability !== 'drain') await w.swarm.setAvailability(step.nodeId, node.version, 'drain');
        return;
      }
      case 'swarm.activate': {
        const node = (await w.swarm.listNodes()).find((n) => n.id === step.nodeId);
        if (node && node.availability !== 'active') await w.swarm.setAvailability(step.nodeId, node.version, 'active');
        return;
      }
      case 'swarm.waitDrained':
        while (w.now < step.deadline) {
          const n = (await w.swarm.listNodes()).find((x) => x.id === step.nodeId);
          if (!n || n.runningTasks === 0) return;
          w.advance(1000);
        }
        if (step.onTimeout === 'hold') throw new Error(`drain of ${step.instanceId} timed out`);
        return;
      case 'swarm.removeNode':
        return w.swarm.removeNode(step.nodeId, step.force);
      case 'cluster.publishEndpoints':
        w.publishedClientURLs = [...step.clientURLs];
        return;
    }
  }

  /** Polls `fn` (retrying its errors) until it returns true, advancing virtual time. */
  private async poll(fn: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const end = this.world.now + timeoutMs;
    let last: unknown;
    while (this.world.now <= end) {
      try {
        if (await fn()) return;
      } catch (err) {
        last = err;
        if (!isSwarmkeeperError(err)) throw err;
      }
      this.world.advance(1000);
    }
    throw last ?? new Error('timed out waiting');
  }
}
