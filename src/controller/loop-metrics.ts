// What the loop records about each cycle and its leadership. The Prometheus registry
// (src/http/metrics.ts) implements it and the wiring hands it in; the loop never
// imports the routes that serve it.
import type { Snapshot } from '../model/snapshot.ts';
import type { Role } from '../spec/schema.ts';

export interface LoopMetrics {
  recordReconcile(cluster: string, durationSeconds: number, outcome: 'ok' | 'error' | 'skipped'): void;
  recordPlanSteps(cluster: string, steps: readonly { readonly kind: string }[]): void;
  /** `source`: where the error came from (etcd, swarm, provider, store, act, ...). */
  recordError(source: string): void;
  recordSnapshot(cluster: string, snapshot: Snapshot): void;
  recordDesiredReady(cluster: string, role: Role, desired: number, ready: number): void;
  setLeader(isLeader: boolean): void;
  /** Drops every series of a deleted cluster. */
  forgetCluster(cluster: string): void;
  readonly backups: {
    recordAttempt(cluster: string, a: { outcome: 'ok' | 'failed'; purpose: string }): void;
    recordNewest(
      cluster: string,
      newest: { readonly takenAt: number; readonly sizeBytes?: number; readonly durationMs?: number } | undefined,
      intervalSeconds: number | undefined,
    ): void;
  };
}
