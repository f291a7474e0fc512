// The operations journal (design rule 13): every step is written down under
// keys.journal BEFORE it runs, then moved pending -> running -> done | failed. A
// controller that takes over reads the entries still pending or running and finishes
// them first (src/controller/resume.ts), re-running the recorded step, which is
// idempotent: a launch is repeated with the same client token, so the provider returns
// the instances of the first call instead of launching again.
//
// Keys are `<journal><id>` with ids that sort by time, so a range read returns the
// journal in order. Every write is fenced by the leader's election key (fenced-write.ts).
import { randomBytes } from 'node:crypto';
import { wrapError } from '../errors.ts';
import type { Operation, OperationState } from '../model/snapshot.ts';
import type { Step } from '../plan/steps.ts';
import { targetOf } from '../plan/targets.ts';
import { clusterKeys } from './keys.ts';
import type { LeaderFence } from './port.ts';
import type { FencedKv } from './fenced-kv.ts';

export interface JournalEntry extends Operation {
  /** The step as planned, so a successor can run it again exactly. */
  readonly step: Step;
  readonly updatedAt: number;
  /** Identity of the controller that wrote the entry. */
  readonly leader?: string;
  /** What the step produced, for people (e.g. the launched instance ids). */
  readonly result?: string;
  /** The instances a launch produced (for telling a gone instance from a listing lag). */
  readonly instanceIds?: readonly string[];
}

export interface JournalOptions {
  readonly prefix: string;
  /** Finished entries kept per cluster; older ones are pruned. */
  readonly keepFinished?: number;
}

const IN_FLIGHT: ReadonlySet<OperationState> = new Set(['pending', 'running']);

export class Journal {
  private readonly prefix: string;
  private readonly keepFinished: number;
  private seq = 0;

  constructor(
    private readonly kv: FencedKv,
    opts: JournalOptions,
  ) {
    this.prefix = opts.prefix;
    this.keepFinished = opts.keepFinished ?? 200;
  }

  /** Every entry of the cluster, oldest first. */
  async list(cluster: string): Promise<JournalEntry[]> {
    const dir = clusterKeys(this.prefix, cluster).journal;
    let kvs: Array<readonly [string, string]>;
    try {
      kvs = await this.kv.getPrefix(dir);
    } catch (err) {
      throw wrapError(`reading the operations journal of ${cluster}`, err);
    }
    return kvs.map(([, text]) => parseEntry(text)).filter((e): e is JournalEntry => e !== undefined);
  }

  /** Entries still pending or running: what a new leader must finish first. */
  async inFlight(cluster: string): Promise<JournalEntry[]> {
    return (await this.list(cluster)).filter((e) => IN_FLIGHT.has(e.state));
  }

  /** Writes `step` as a pending operation and returns the entry. */
  async record(cluster: string, step: Step, ctx: { now: number; fence?: LeaderFence; leader?: string }): Promise<JournalEntry> {
    const entry: JournalEntry = {
      id: this.nextId(ctx.now),
      stepKind: step.kind,
      target: stepTarget(step),
      startedAt: ctx.now,
      updatedAt: ctx.now,
      state: 'pending',
      attempts: 0,
      step,
      ...(ctx.leader === undefined ? {} : { leader: ctx.leader }),
    };
    await this.write(cluster, entry, ctx.fence);
    return entry;
  }

  /** Moves an entry to a new state; returns the new entry. */
  async transition(
    cluster: string,
    entry: JournalEntry,
    patch: { state: OperationState; error?: string; result?: string; attempts?: number; instanceIds?: readonly string[] },
    ctx: { now: number; fence?: LeaderFence },
  ): Promise<JournalEntry> {
    const next: JournalEntry = {
      ...entry,
      state: patch.state,
      updatedAt: ctx.now,
      attempts: patch.attempts ?? entry.attempts,
      ...(patch.error === undefined ? {} : { error: patch.error }),
      ...(patch.result === undefined ? {} : { result: patch.result }),
      ...(patch.instanceIds === undefined ? {} : { instanceIds: patch.instanceIds }),
    };
    if (patch.state === 'done' && patch.error === undefined) delete (next as { error?: string }).error;
    await this.write(cluster, next, ctx.fence);
    return next;
  }

  /** Deletes the oldest finished entries beyond keepFinished. */
  async prune(cluster: string, fence?: LeaderFence): Promise<number> {
    const finished = (await this.list(cluster)).filter((e) => !IN_FLIGHT.has(e.state));
    const excess = finished.slice(0, Math.max(0, finished.length - this.keepFinished));
    if (excess.length === 0) return 0;
    const dir = clusterKeys(this.prefix, cluster).journal;
    await this.kv.write(
      excess.map((e) => ({ kind: 'delete' as const, key: dir + e.id })),
      fence,
      `pruning the journal of ${cluster}`,
    );
    return excess.length;
  }

  private async write(cluster: string, entry: JournalEntry, fence: LeaderFence | undefined): Promise<void> {
    const key = clusterKeys(this.prefix, cluster).journal + entry.id;
    await this.kv.write([{ kind: 'put', key, value: JSON.stringify(entry) }], fence, `journaling ${entry.stepKind} ${entry.target}`);
  }

  private nextId(now: number): string {
    // Time first so keys sort chronologically; a counter and random suffix keep ids of
    // one millisecond (and of two controllers) distinct.
    this.seq = (this.seq + 1) % 1_000_000;
    return `${String(now).padStart(14, '0')}-${String(this.seq).padStart(6, '0')}-${randomBytes(3).toString('hex')}`;
  }
}

/**
 * The instance, member or node a step acts on, for the journal and logs: the planner's
 * own targetOf(), so it can match journal entries to the steps it plans (rule 3).
 */
export function stepTarget(step: Step): string {
  return targetOf(step);
}

/**
 * Journal entries as the Snapshot carries them (without the step payload). A launch
 * keeps the instance ids it produced, so the planner can tell a terminated instance
 * from one the provider has not listed yet (src/plan/tokens.ts).
 */
export function toOperations(entries: readonly JournalEntry[]): Operation[] {
  return entries.map((e) => ({
    id: e.id,
    stepKind: e.stepKind,
    target: e.target,
    startedAt: e.startedAt,
    state: e.state,
    attempts: e.attempts,
    ...(e.error === undefined ? {} : { error: e.error }),
    ...(e.instanceIds === undefined ? {} : { instanceIds: e.instanceIds }),
  }));
}

function parseEntry(text: string): JournalEntry | undefined {
  try {
    const v = JSON.parse(text) as JournalEntry;
    return typeof v?.id === 'string' && typeof v.stepKind === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}
