// Runs the health detectors (src/heal/detect.ts, pure) on the cycle's snapshot, writes
// the marks they set or clear, and returns the snapshot with its marks updated, so the
// plan of this very cycle already sees them. The detectors' memory (when each suspicion
// was first seen) lives in the controller per cluster; a new leader starts counting
// again, which only delays a replacement.
import { detectHealthMarks, type DetectorMemory } from '../heal/detect.ts';
import type { MarkStore } from '../store/mark-port.ts';
import type { Logger } from '../log.ts';
import type { Snapshot } from '../model/snapshot.ts';
import type { ResolvedSpec } from '../spec/defaults.ts';

export interface DetectorState {
  memory: DetectorMemory;
}

export async function applyDetectors(
  cluster: string,
  spec: ResolvedSpec,
  snapshot: Snapshot,
  marks: MarkStore,
  state: DetectorState,
  now: number,
  log: Logger,
): Promise<Snapshot> {
  if (!spec.healing.enabled) return snapshot;
  const out = detectHealthMarks({ snapshot, healing: spec.healing, memory: state.memory, now });
  state.memory = out.memory;
  if (out.set.length === 0 && out.clear.length === 0) return snapshot;
  try {
    for (const m of out.set) {
      log.info({ instance: m.instanceId, source: m.source, reason: m.reason }, 'Marking node unhealthy');
      await marks.putMark(cluster, m);
    }
    for (const c of out.clear) {
      log.info({ instance: c.instanceId, source: c.source }, 'Clearing health mark');
      await marks.clearMark(cluster, c.instanceId, c.source);
    }
  } catch (err) {
    // The marks are evidence for the next cycles; failing to store them must not stop
    // this one. The plan below still sees them.
    log.warn({ err }, 'Writing health marks failed');
  }
  const cleared = (m: { instanceId: string; source: string }): boolean =>
    out.clear.some((c) => c.instanceId === m.instanceId && c.source === m.source) ||
    out.set.some((s) => s.instanceId === m.instanceId && s.source === m.source);
  return Object.freeze({ ...snapshot, marks: [...snapshot.marks.filter((m) => !cleared(m)), ...out.set] });
}
