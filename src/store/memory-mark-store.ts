// MarkStore in memory, with the same semantics as EtcdMarkStore (earliest `since` kept,
// expired marks not listed). For the sim provider, the demo's dry runs and unit tests;
// production uses EtcdMarkStore so every replica sees the same marks.
import type { HealthMark, HealthMarkSource, NodeControl } from '../model/snapshot.ts';
import type { MarkStore } from './mark-port.ts';

export class MemoryMarkStore implements MarkStore {
  private readonly marks = new Map<string, HealthMark>();
  private readonly controls = new Map<string, NodeControl>();

  async listMarks(cluster: string, now: number): Promise<HealthMark[]> {
    return [...this.marks.entries()]
      .filter(([k, m]) => k.startsWith(`${cluster}/`) && (m.expiresAt === undefined || m.expiresAt > now))
      .map(([, m]) => m)
      .sort((a, b) => a.instanceId.localeCompare(b.instanceId) || a.source.localeCompare(b.source));
  }

  async putMark(cluster: string, mark: HealthMark): Promise<void> {
    const key = `${cluster}/${mark.instanceId}/${mark.source}`;
    const previous = this.marks.get(key);
    this.marks.set(key, previous ? { ...mark, since: Math.min(previous.since, mark.since) } : mark);
  }

  async clearMark(cluster: string, instanceId: string, source: HealthMarkSource): Promise<void> {
    this.marks.delete(`${cluster}/${instanceId}/${source}`);
  }

  async listControls(cluster: string): Promise<NodeControl[]> {
    return [...this.controls.entries()].filter(([k]) => k.startsWith(`${cluster}/`)).map(([, c]) => c);
  }

  async putControl(cluster: string, control: NodeControl): Promise<void> {
    this.controls.set(`${cluster}/${control.instanceId}`, control);
  }
}
