// Health marks and per-node controls as the controller reads them. Marks come from the
// alert webhook and from detectors; controls from operators. The etcd-backed store
// (mark-store.ts) implements this; observe() reads it into the Snapshot.
import type { HealthMark, NodeControl } from '../model/snapshot.ts';

export interface MarkStore {
  /** Marks of the cluster that have not expired at `now`. */
  listMarks(cluster: string, now: number): Promise<HealthMark[]>;
  /** Sets or refreshes a mark; keeps the earliest `since` of an existing mark of the same source. */
  putMark(cluster: string, mark: HealthMark): Promise<void>;
  clearMark(cluster: string, instanceId: string, source: HealthMark['source']): Promise<void>;
  listControls(cluster: string): Promise<NodeControl[]>;
  putControl(cluster: string, control: NodeControl): Promise<void>;
}
