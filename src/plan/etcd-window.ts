// etcd's health window: with its strict reconfiguration check (the default), etcd refuses
// a member add until every voter has been connected for 5 s (HealthInterval in etcd's
// server). A learner connects only after its add was applied (its agent starts etcd once
// it sees the entry), and it becomes a voter later still, so until 5 s after the start of
// the last learner add the next add would only be refused and retried. The planner
// spends that time on a swarm promotion that would otherwise follow the etcd steps
// (manager-join.ts, rule 6).
import type { Operation } from '../model/snapshot.ts';

/** etcd's HealthInterval: how long every voter must have been connected before a member add. */
export const ETCD_HEALTH_WINDOW_MS = 5_000;

/**
 * How much longer (ms) etcd refuses member adds at least, judged from the journal: the
 * start of the last learner add that went through, plus the window. 0 when it may accept
 * them now. A clock that differs between controllers only moves which raft goes first.
 */
export function etcdAddRefusedForMs(operations: readonly Operation[], now: number): number {
  let last: number | undefined;
  for (const op of operations) {
    if (op.stepKind === 'etcd.addLearner' && op.state === 'done' && (last === undefined || op.startedAt > last)) last = op.startedAt;
  }
  return last === undefined ? 0 : Math.max(0, last + ETCD_HEALTH_WINDOW_MS - now);
}
