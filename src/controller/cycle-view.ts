// The view a cycle's steps re-check their preconditions on. Observing the whole world
// before every step would cost a full instance listing per step (on EC2, paged
// DescribeInstances calls that throttle); instead the cycle's own fresh observation is
// kept and each step re-reads only the sources its precondition depends on:
//   - destructive and membership steps: the swarm, the cluster etcd and the journal
//     (quorum, roles, members and the one-change-in-flight rule are judged on them);
//   - other swarm steps and endpoint publication: the swarm and etcd;
//   - launches and orphan marks: nothing (the instance list of this cycle, with what
//     this cycle's own steps launched or terminated patched in).
// A view older than maxAgeMs (a step waited long, e.g. for a drain) is observed anew
// in full before the next step: a destructive step is never judged on a stale list.
import type { Instance, Snapshot } from '../model/snapshot.ts';
import type { SourceRefresh } from '../observe/observe.ts';
import { DESTRUCTIVE_STEP_KINDS, MEMBERSHIP_STEP_KINDS, type Step } from '../plan/steps.ts';

export interface CycleViewDeps {
  readonly observe: () => Promise<Snapshot>;
  readonly refresh: (base: Snapshot, parts: SourceRefresh) => Promise<Snapshot>;
  readonly now: () => number;
  readonly maxAgeMs: number;
}

export class CycleView {
  private current: Snapshot | undefined;

  constructor(private readonly deps: CycleViewDeps) {}

  /** The cycle's observation, taken just before planning. */
  start(snapshot: Snapshot): void {
    this.current = snapshot;
  }

  /** A view fresh enough to re-check `step` on (see the header for what is re-read). */
  async forStep(step: Step): Promise<Snapshot> {
    if (!this.current || this.deps.now() - this.current.observedAt > this.deps.maxAgeMs) {
      this.current = await this.deps.observe();
      return this.current;
    }
    const parts = sourcesOf(step);
    if (parts.swarm || parts.etcd || parts.operations) this.current = await this.deps.refresh(this.current, parts);
    return this.current;
  }

  /** Patches the instance list with what a finished step did to it. */
  after(step: Step, launched: readonly Instance[] | undefined): void {
    const cur = this.current;
    if (!cur || cur.instances.status !== 'ok') return;
    let list: readonly Instance[] = cur.instances.value;
    if (step.kind === 'instance.launch' && launched) {
      const ids = new Set(launched.map((l) => l.id));
      list = [...list.filter((i) => !ids.has(i.id)), ...launched];
    } else if (step.kind === 'instance.terminate') list = list.filter((i) => i.id !== step.instanceId);
    else return;
    this.current = Object.freeze({ ...cur, instances: { status: 'ok' as const, value: list } });
  }
}

export function sourcesOf(step: Step): SourceRefresh {
  if (MEMBERSHIP_STEP_KINDS.has(step.kind) || DESTRUCTIVE_STEP_KINDS.has(step.kind)) return { swarm: true, etcd: true, operations: true };
  if (step.kind.startsWith('swarm.') || step.kind === 'cluster.publishEndpoints') return { swarm: true, etcd: true };
  return {};
}
