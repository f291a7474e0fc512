// What a node booted by the EC2 node fleet did and when, read from its own journal after
// the fact (so reading costs the node nothing while it boots): when systemd reported
// each unit started, and the lines the node agent logged. Journal times are the host's
// wall clock (the nodes share its kernel), comparable with Date.now().
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** systemd's catalogue id of "Started <unit>" (SD_MESSAGE_UNIT_STARTED). */
const UNIT_STARTED = '39f53479d3a045ac8e11786248231fbf';

export interface JournalLine {
  /** ms since epoch */
  readonly at: number;
  readonly unit: string;
  readonly message: string;
}

export interface NodeJournal {
  /** Every time systemd reported `unit` started, in order. */
  starts(unit: string): number[];
  /** The units' own output (a node agent's pino lines among them). */
  readonly lines: readonly JournalLine[];
}

interface JournalEntry {
  readonly __REALTIME_TIMESTAMP: string;
  readonly MESSAGE_ID?: string;
  readonly UNIT?: string;
  readonly _SYSTEMD_UNIT?: string;
  readonly MESSAGE?: string | number[];
}

/** Reads the journal of the node whose root is `root`, for `units`. */
export async function readNodeJournal(root: string, units: readonly string[]): Promise<NodeJournal> {
  const args = ['-D', join(root, 'var/log/journal'), '--no-pager', '-o', 'json', ...units.flatMap((u) => ['-u', u])];
  const out = await run('journalctl', args, { maxBuffer: 64 * 1024 * 1024 }).catch((err: unknown) => {
    throw new Error(`reading the journal under ${root}: ${(err as Error).message.split('\n')[0]}`);
  });
  const entries = out.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as JournalEntry);
  const starts = new Map<string, number[]>();
  const lines: JournalLine[] = [];
  for (const e of entries) {
    const at = Math.round(Number(e.__REALTIME_TIMESTAMP) / 1000);
    if (e.MESSAGE_ID === UNIT_STARTED && e.UNIT) starts.set(e.UNIT, [...(starts.get(e.UNIT) ?? []), at]);
    else if (e._SYSTEMD_UNIT && e.MESSAGE !== undefined) {
      // journald stores non-UTF-8 or binary output as a byte array.
      const message = typeof e.MESSAGE === 'string' ? e.MESSAGE : Buffer.from(e.MESSAGE).toString('utf8');
      lines.push({ at, unit: e._SYSTEMD_UNIT, message });
    }
  }
  return { starts: (unit) => starts.get(unit) ?? [], lines };
}

/** A pino line's message (and its reason or error, if any); other output as it is. */
export function describeLogLine(message: string): string {
  if (!message.startsWith('{')) return message;
  try {
    const rec = JSON.parse(message) as { msg?: string; reason?: string; err?: { message?: string } | string; step?: string };
    const err = typeof rec.err === 'string' ? rec.err : rec.err?.message;
    const detail = rec.reason ?? err;
    return `${rec.msg ?? message}${detail ? `: ${detail}` : ''}`;
  } catch {
    return message;
  }
}

/** Per phase, the time (ms from t0) every node had reached it and the median node's. */
export interface PhaseSummary {
  readonly all: number;
  readonly median: number;
}

/** Summarises per-node times (ms since epoch, undefined when a node never got there) relative to t0. */
export function summarisePhase(times: readonly (number | undefined)[], t0: number): PhaseSummary | undefined {
  if (times.length === 0 || times.some((t) => t === undefined)) return undefined;
  const rel = times.map((t) => (t as number) - t0).sort((a, b) => a - b);
  return { all: rel.at(-1) as number, median: rel[Math.floor(rel.length / 2)] as number };
}

/** ms from the moment every node had reached phase `from` to the moment of `to` (a time or the last node's); undefined when either is missing. */
export function spanBetween(from: PhaseSummary | number | undefined, to: PhaseSummary | number | undefined): number | undefined {
  const at = (p: PhaseSummary | number | undefined): number | undefined => (typeof p === 'number' ? p : p?.all);
  const a = at(from);
  const b = at(to);
  return a === undefined || b === undefined ? undefined : b - a;
}
