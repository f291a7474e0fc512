// The detectors' stateful shell for the controller: keeps each cluster's DetectorMemory
// between cycles and writes the marks detectHealthMarks() decides on. Call it once per
// reconcile, after observing, on the leader only (followers would double-count nothing,
// but only the leader's marks are evidence it also acts on). Marks written this cycle
// are seen by the planner next cycle, through observe(); the hold-down has passed by
// the time they are set, so that costs one cycle at most.
import type { Logger } from '../log.ts';
import type { Snapshot } from '../observe/snapshot.ts';
import type { ResolvedSpec } from '../spec/defaults.ts';
import { detectHealthMarks, type DetectorMemory, type DetectResult } from './detect.ts';
import type { MarkStore } from './port.ts';

export class HealthDetector {
  private readonly memory = new Map<string, DetectorMemory>();
  private readonly marks: MarkStore;
  private readonly log: Logger;

  constructor(marks: MarkStore, logger: Logger) {
    this.marks = marks;
    this.log = logger.child({ component: 'detector' });
  }

  /** Judges one snapshot of `spec.name` and writes the mark changes. Throws when a write fails (the memory is kept). */
  async run(spec: Pick<ResolvedSpec, 'name' | 'healing'>, snapshot: Snapshot, now: number): Promise<DetectResult> {
    const cluster = spec.name;
    const result = detectHealthMarks({ snapshot, healing: spec.healing, memory: this.memory.get(cluster) ?? {}, now });
    this.memory.set(cluster, result.memory);
    for (const mark of result.set) {
      const known = snapshot.marks.some((m) => m.instanceId === mark.instanceId && m.source === mark.source);
      if (!known) this.log.warn({ cluster, instanceId: mark.instanceId, source: mark.source, reason: mark.reason }, 'Marking node unhealthy');
      await this.marks.putMark(cluster, mark);
    }
    for (const ref of result.clear) {
      this.log.info({ cluster, instanceId: ref.instanceId, source: ref.source }, 'Clearing health mark: the condition is gone');
      await this.marks.clearMark(cluster, ref.instanceId, ref.source);
    }
    return result;
  }

  /** Drops a deleted cluster's memory. */
  forget(cluster: string): void {
    this.memory.delete(cluster);
  }
}
