// The backup metrics (registered on the controller's registry by createMetrics): the age
// of the newest good backup (computed at scrape time, so it grows between cycles), the
// schedule's interval (the alert compares the two), the newest backup's duration and
// size, and a counter of attempts by purpose and outcome.
import { Counter, Gauge, type Registry } from 'prom-client';

export const BACKUP_METRIC_NAMES = {
  lastSuccess: 'swarmkeeper_backup_last_success_timestamp_seconds',
  age: 'swarmkeeper_backup_age_seconds',
  interval: 'swarmkeeper_backup_interval_seconds',
  duration: 'swarmkeeper_backup_duration_seconds',
  size: 'swarmkeeper_backup_size_bytes',
  total: 'swarmkeeper_backups_total',
} as const;

export interface NewestBackup {
  readonly takenAt: number;
  readonly sizeBytes?: number;
  readonly durationMs?: number;
}

export interface BackupMetrics {
  /** One attempt's outcome (the executor's backup.create, `backup create`). */
  recordAttempt(cluster: string, a: { outcome: 'ok' | 'failed'; purpose: string }): void;
  /** The newest good backup and the schedule, from each cycle's observation. */
  recordNewest(cluster: string, newest: NewestBackup | undefined, intervalSeconds: number | undefined): void;
  forget(cluster: string): void;
}

export function createBackupMetrics(registry: Registry, now: () => number = Date.now): BackupMetrics {
  const registers = [registry];
  const newestByCluster = new Map<string, NewestBackup>();
  const lastSuccess = new Gauge({
    name: BACKUP_METRIC_NAMES.lastSuccess,
    help: 'When the newest good backup was taken (Unix seconds)',
    labelNames: ['cluster'],
    registers,
  });
  new Gauge({
    name: BACKUP_METRIC_NAMES.age,
    help: 'Age of the newest good backup in seconds (the RPO if every manager were lost now)',
    labelNames: ['cluster'],
    registers,
    collect() {
      this.reset();
      for (const [cluster, b] of newestByCluster) this.set({ cluster }, Math.max(0, (now() - b.takenAt) / 1000));
    },
  });
  const interval = new Gauge({
    name: BACKUP_METRIC_NAMES.interval,
    help: 'spec.backup.intervalSeconds: time between scheduled backups',
    labelNames: ['cluster'],
    registers,
  });
  const duration = new Gauge({
    name: BACKUP_METRIC_NAMES.duration,
    help: 'How long the newest good backup took (snapshot, export, store, verify)',
    labelNames: ['cluster'],
    registers,
  });
  const size = new Gauge({
    name: BACKUP_METRIC_NAMES.size,
    help: 'Size of the newest good backup (etcd snapshot plus swarm state), bytes',
    labelNames: ['cluster'],
    registers,
  });
  const total = new Counter({
    name: BACKUP_METRIC_NAMES.total,
    help: 'Backup attempts, by purpose (scheduled, pre-change, manual) and outcome',
    labelNames: ['cluster', 'purpose', 'outcome'],
    registers,
  });
  return {
    recordAttempt(cluster, a) {
      total.inc({ cluster, purpose: a.purpose, outcome: a.outcome });
    },
    recordNewest(cluster, newest, intervalSeconds) {
      if (intervalSeconds === undefined) interval.remove({ cluster });
      else interval.set({ cluster }, intervalSeconds);
      if (!newest) {
        newestByCluster.delete(cluster);
        for (const g of [lastSuccess, duration, size]) g.remove({ cluster });
        return;
      }
      newestByCluster.set(cluster, newest);
      lastSuccess.set({ cluster }, newest.takenAt / 1000);
      if (newest.durationMs !== undefined) duration.set({ cluster }, newest.durationMs / 1000);
      if (newest.sizeBytes !== undefined) size.set({ cluster }, newest.sizeBytes);
    },
    forget(cluster) {
      newestByCluster.delete(cluster);
      for (const g of [lastSuccess, interval, duration, size]) g.remove({ cluster });
    },
  };
}
