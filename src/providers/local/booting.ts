// A local node between the spawn of its processes and its dockerd's first answer: the
// record's 'booting' phase, listed as 'pending' as EC2 lists an instance RunInstances
// has just returned. A launch returns at the spawn, so a reconcile cycle goes on while
// nodes boot (the next membership step of a node already up need not wait for them).
//
// The record moves to 'running' at the dockerd's first answer. The launching provider
// waits for it (BootWaits); a list() that finds a booting dockerd nobody here waits for
// answering writes it too, so a record left booting by a controller that stopped or
// died is settled by the next one. (A list() does not ping the nodes this provider
// waits for: a dockerd starting on a busy machine can take seconds to answer, and the
// cycle's observation would wait on it.) Until then a node whose spawned dockerd lives is 'pending', whatever the
// time: only the planner's startup timeout (rule 14) gives up on a slow boot. A node
// whose spawned dockerd is gone is 'stopped', a dead machine like any other.
import type { Logger } from '../../log.ts';
import { dockerdPid, isDockerdPidOf, pingDockerd } from '../../swarm/dockerd-process.ts';
import type { NodeLiveness } from './node-processes.ts';
import { readRecord, writeRecord, type InstanceRecord } from './instance-records.ts';

/** The record as it stands: a booting one whose dockerd answers now becomes (and is written) running. */
export async function settleBooting(baseDir: string, rec: InstanceRecord): Promise<InstanceRecord> {
  if (rec.phase !== 'booting' || !(await pingDockerd(rec.nodeDir))) return rec;
  return markRunning(baseDir, rec) ?? rec;
}

/**
 * Writes the record as running if it still is the booting record of the same spawn
 * (read again without an await in between: a terminate under way keeps its phase).
 */
export function markRunning(baseDir: string, rec: InstanceRecord): InstanceRecord | undefined {
  const now = readRecord(baseDir, rec.cluster, rec.id);
  if (now?.phase !== 'booting' || now.pids.dockerd !== rec.pids.dockerd) return undefined;
  const running: InstanceRecord = { ...now, phase: 'running' };
  writeRecord(baseDir, running);
  return running;
}

/** Whether the dockerd spawned for a booting record still runs (by pid file once dockerd wrote it). */
export function bootingLiveness(rec: InstanceRecord): NodeLiveness {
  const spawned = rec.pids.dockerd;
  const dockerd = dockerdPid(rec.nodeDir) !== undefined || (spawned !== undefined && isDockerdPidOf(spawned, rec.nodeDir));
  return { dockerd, agent: false };
}

/** The launching provider's waits for its nodes' first answers; close() ends them (the nodes boot on). */
export class BootWaits {
  private readonly stop = new AbortController();
  private readonly waits = new Set<Promise<void>>();
  private readonly watched = new Set<string>();

  constructor(
    private readonly baseDir: string,
    private readonly log: Logger,
  ) {}

  /** Whether this provider waits for the node's first answer (so list() need not ask). */
  isWatching(instanceId: string): boolean {
    return this.watched.has(instanceId);
  }

  get signal(): AbortSignal {
    return this.stop.signal;
  }

  watch(rec: InstanceRecord, answering: Promise<void>): void {
    const wait = answering.then(
      () => {
        if (markRunning(this.baseDir, rec))
          this.log.info({ instanceId: rec.id, address: rec.address }, 'Local instance is up: its dockerd answers');
      },
      (err: unknown) => {
        if (this.stop.signal.aborted || readRecord(this.baseDir, rec.cluster, rec.id)?.phase !== 'booting') return;
        this.log.warn({ instanceId: rec.id, err }, 'Local instance did not boot: its dockerd never answered');
      },
    );
    this.waits.add(wait);
    this.watched.add(rec.id);
    void wait.finally(() => {
      this.waits.delete(wait);
      this.watched.delete(rec.id);
    });
  }

  async close(): Promise<void> {
    this.stop.abort();
    await Promise.allSettled([...this.waits]);
  }
}
