// Launch client tokens (rule 13). A token names one launch intent: the same intent
// planned again, by this controller or by a successor after a crash, gets the same
// token, and the provider turns the repeat into a no-op. Intents are numbered by a
// cluster-wide ordinal that only grows: the next ordinal is one more than the highest
// seen on a live instance or in the journal, so a token is never reused for a new intent
// (which would make the provider return the old, perhaps dead, instances).
import type { Operation, Snapshot } from '../model/snapshot.ts';
import type { Role } from '../spec/schema.ts';
import { fnv1a64Hex } from '../spec/config-hash.ts';

const MAX_TOKEN = 64;
const LIST_LAG_MS = 120_000;
const ORDINAL = /-([mw])(\d+)$/;

/** The launch tokens of one cluster, generation and role, by ordinal. */
export function tokenMaker(cluster: string, generation: number, role: Role): (ordinal: number) => string {
  const mid = `-g${generation}-${role === 'manager' ? 'm' : 'w'}`;
  // The longest tail an ordinal can give (2^53 has 16 digits) must still fit.
  const plain = `${cluster}${mid}`.length + 16 <= MAX_TOKEN && /^[\x21-\x7e]+$/.test(cluster);
  const head = plain ? cluster : `sk${fnv1a64Hex(cluster)}`;
  return (ordinal) => `${head}${mid}${ordinal}`;
}

export function parseToken(token: string): { role: Role; ordinal: number } | undefined {
  const m = ORDINAL.exec(token);
  if (!m || m[1] === undefined || m[2] === undefined) return undefined;
  return { role: m[1] === 'm' ? 'manager' : 'worker', ordinal: Number(m[2]) };
}

/** The token in a journal target (the journal writes `<role>x<count>/<token>`). */
export function tokenOfTarget(target: string): string {
  const slash = target.lastIndexOf('/');
  return slash >= 0 ? target.slice(slash + 1) : target;
}

export function nextOrdinal(snapshot: Snapshot): number {
  let max = -1;
  const instances = snapshot.instances.status === 'ok' ? snapshot.instances.value : (snapshot.instances.partial ?? []);
  for (const i of instances) {
    const p = i.clientToken === undefined ? undefined : parseToken(i.clientToken);
    if (p && p.ordinal > max) max = p.ordinal;
  }
  for (const op of snapshot.operations) {
    if (op.stepKind !== 'instance.launch') continue;
    const p = parseToken(tokenOfTarget(op.target));
    if (p && p.ordinal > max) max = p.ordinal;
  }
  return max + 1;
}

export interface UnseenLaunch {
  readonly token: string;
  readonly role: Role;
  /** Still pending/running in the journal: re-issue it with the same token. */
  readonly resume: boolean;
  /** Instances the launch asked for (the journal target's `x<count>`). */
  readonly batch: number;
  /** Of those, how many no listed instance accounts for yet. */
  readonly missing: number;
}

/** The count in a journal launch target (`<role>x<count>/<token>`); 1 when absent. */
export function countOfTarget(target: string): number {
  const m = /x(\d+)\//.exec(target);
  const n = m?.[1] === undefined ? 1 : Number(m[1]);
  return Number.isSafeInteger(n) && n >= 1 ? n : 1;
}

/**
 * Launches the journal knows but no listed instance carries: in flight (re-issued with
 * their token) or done so recently that the instance may not be listed yet (counted as
 * booting until the startup timeout, never launched again).
 */
export function unseenLaunches(snapshot: Snapshot, now: number, startupTimeoutMs: number): UnseenLaunch[] {
  const instances = snapshot.instances.status === 'ok' ? snapshot.instances.value : [];
  const seen = new Map<string, number>();
  for (const i of instances) if (i.clientToken !== undefined) seen.set(i.clientToken, (seen.get(i.clientToken) ?? 0) + 1);
  const listedIds = new Set(instances.map((i) => i.id));
  // Instances the controller itself decided to terminate are accounted for, not lagging.
  const terminating = new Set(snapshot.operations.filter((o) => o.stepKind === 'instance.terminate').map((o) => o.target));
  const out: UnseenLaunch[] = [];
  const byToken = new Map<string, Operation>();
  for (const op of snapshot.operations) {
    if (op.stepKind === 'instance.launch') byToken.set(tokenOfTarget(op.target), op);
  }
  for (const [token, op] of [...byToken].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const p = parseToken(token);
    if (!p) continue;
    const batch = countOfTarget(op.target);
    // When the journal knows which instances the launch produced, an instance of it that
    // the controller terminated since is history, not a listing lag: without this a
    // replacement waited out the whole lag window after a self-heal.
    const listed = op.instanceIds
      ? batch - op.instanceIds.filter((id) => !listedIds.has(id) && !terminating.has(id)).length
      : (seen.get(token) ?? 0);
    // A batch partly listed: the rest may still appear (EC2 lists with a lag). Once any
    // of its instances is listed the launch itself is not re-issued.
    if (listed >= batch) continue;
    const inFlight = op.state === 'pending' || op.state === 'running';
    // EC2 lists a new instance within seconds; two minutes covers that lag without
    // holding a replacement back for long when the launched instance died meanwhile.
    const recentlyDone = op.state === 'done' && op.startedAt + Math.min(startupTimeoutMs, LIST_LAG_MS) > now;
    if (inFlight || recentlyDone) out.push({ token, role: p.role, resume: inFlight && listed === 0, batch, missing: batch - listed });
  }
  return out;
}
