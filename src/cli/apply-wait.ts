// What `apply --wait` does after writing: follow the controller until the applied
// generation is Ready, printing each step of the operations journal as it starts and
// ends (`launch ... running`, `... done`), the way `kubectl rollout status` narrates a
// rollout. It ends early, with a clear error, when the cluster cannot get there by
// itself: Frozen (quorum lost) or Degraded for longer than a transient state lasts (a
// new cluster is briefly Frozen while its first etcd member starts).
import { SwarmkeeperError } from '../errors.ts';
import { getCondition } from '../spec/conditions.ts';
import type { EtcdClusterStore } from '../store/etcd-store.ts';
import { etcdFencedKv } from '../store/fenced-kv.ts';
import { Journal, type JournalEntry } from '../store/journal.ts';
import type { StoredCluster } from '../store/port.ts';
import { RESOURCES } from './input.ts';
import { waitForCluster } from './wait-loop.ts';

/** How long a Degraded or Frozen phase may last before `apply --wait` gives up on it (holds such as a drain's pass). */
export const DEGRADED_GRACE_MS = 60_000;

export type Progress = { readonly kind: 'waiting' } | { readonly kind: 'failed'; readonly message: string };

/**
 * Whether the applied generation can still become Ready. Only the controller's verdict on
 * that generation counts; `degradedSince` is when it was first seen Degraded or Frozen (or undefined).
 */
export function judgeProgress(
  cluster: StoredCluster | undefined,
  generation: number,
  degradedSince: number | undefined,
  now: number,
): Progress {
  if (!cluster) return { kind: 'failed', message: 'the cluster was deleted while waiting' };
  const s = cluster.status;
  if ((cluster.cluster.metadata.generation ?? 0) > generation)
    return { kind: 'failed', message: `generation ${cluster.cluster.metadata.generation ?? 0} was applied meanwhile` };
  if (!s || (s.observedGeneration ?? -1) < generation) return { kind: 'waiting' };
  const degraded = getCondition(s.conditions, 'Degraded');
  const why = degraded?.status === 'True' ? `: ${degraded.message}` : '';
  if ((s.phase === 'Degraded' || s.phase === 'Frozen') && degradedSince !== undefined && now - degradedSince >= DEGRADED_GRACE_MS) {
    return { kind: 'failed', message: `the cluster has been ${s.phase} for ${Math.round((now - degradedSince) / 1000)}s${why}` };
  }
  return { kind: 'waiting' };
}

/** One line for a journal entry whose state is new: `step instance.launch worker-1: done (i-0ab)`. */
export function describeStep(e: JournalEntry): string {
  const detail = e.state === 'failed' ? ` (${e.error ?? 'no error recorded'})` : e.state === 'done' && e.result ? ` (${e.result})` : '';
  return `step ${e.stepKind} ${e.target}: ${e.state}${detail}`;
}

/** Waits for Ready on `generation`, printing steps as they happen; throws Timeout or Degraded errors. */
export async function followApply(
  store: EtcdClusterStore,
  name: string,
  generation: number,
  timeoutMs: number,
  out: (line: string) => void,
): Promise<void> {
  const journal = new Journal(etcdFencedKv(store.client), { prefix: store.prefix });
  // Steps that finished before the apply are history, not progress: only what changes is shown.
  const seen = new Map((await journal.list(name)).map((e) => [e.id, e.state] as const));
  let degradedSince: number | undefined;
  let failure: string | undefined;
  let phase: string | undefined;
  const met = await waitForCluster(
    store,
    name,
    { kind: 'condition', type: 'Ready', status: 'True' },
    {
      timeoutMs,
      onRead: async (cluster) => {
        for (const e of await journal.list(name)) {
          if (seen.get(e.id) === e.state) continue;
          seen.set(e.id, e.state);
          out(describeStep(e));
        }
        const now = cluster?.status?.phase;
        if (now !== undefined && now !== phase && (cluster?.status?.observedGeneration ?? -1) >= generation) out(`phase ${now}`);
        phase = now ?? phase;
        degradedSince = now === 'Degraded' || now === 'Frozen' ? (degradedSince ?? Date.now()) : undefined;
        const verdict = judgeProgress(cluster, generation, degradedSince, Date.now());
        if (verdict.kind === 'failed') {
          failure = verdict.message;
          throw new StopWaiting();
        }
      },
    },
  ).catch((err: unknown) => {
    if (err instanceof StopWaiting) return false;
    throw err;
  });
  if (failure !== undefined)
    throw new SwarmkeeperError('NotProgressing', `${RESOURCES}/${name} will not become Ready for generation ${generation}: ${failure}`);
  if (!met)
    throw new SwarmkeeperError(
      'Timeout',
      `timed out waiting for the condition Ready=True on ${RESOURCES}/${name} (generation ${generation})`,
    );
}

class StopWaiting extends Error {}
