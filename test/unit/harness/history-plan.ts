// A history as plain data, drawn by fast-check (so a failing history shrinks: fewer
// events, smaller numbers) and replayable from its JSON: the cluster's spec, the seed of
// the world's own randomness (boot and catch-up times, API fault draws), and the events
// interleaved with reconcile cycles. `pick` chooses among the candidates an event
// applies to (sorted ids, modulo their number).
import fc from 'fast-check';
import type { Role } from '../../../src/spec/schema.ts';

export type HistoryEvent =
  | { readonly kind: 'cycle' }
  | { readonly kind: 'scale'; readonly managers: 1 | 3 | 5; readonly workers: number }
  | { readonly kind: 'rollout'; readonly role: Role; readonly generation: number }
  | { readonly kind: 'kill'; readonly role: Role; readonly pick: number }
  | { readonly kind: 'terminate'; readonly pick: number }
  | { readonly kind: 'partition'; readonly pick: number }
  | { readonly kind: 'freeze'; readonly pick: number }
  | { readonly kind: 'cutController'; readonly pick: number }
  | { readonly kind: 'heal' }
  | { readonly kind: 'apiFaults'; readonly level: 0 | 1 | 2 }
  | { readonly kind: 'slowBoots'; readonly on: boolean }
  | { readonly kind: 'killBetweenSteps'; readonly role: Role; readonly pick: number }
  | { readonly kind: 'crash'; readonly atCall: number; readonly applied: boolean }
  | { readonly kind: 'leaderChange'; readonly atCall: number; readonly noticeAfterMs: number }
  | { readonly kind: 'wait'; readonly seconds: number };

export interface HistoryPlan {
  readonly seed: number;
  readonly managers: 1 | 3 | 5;
  readonly workers: number;
  readonly maxSurge: number;
  readonly maxUnavailable: number;
  readonly zones: boolean;
  readonly maxUnhealthy: '40%' | '100%' | 2;
  readonly minHealthySeconds: 0 | 30;
  /**
   * Learners catch up and agents join within about a second (a small cluster on a fast
   * network, as on the local provider): managers then finish joining inside etcd's health
   * window, where the planner takes the next one's swarm promotion first.
   */
  readonly fastJoins?: boolean;
  readonly events: readonly HistoryEvent[];
}

const role = fc.constantFrom<Role>('worker', 'worker', 'manager');
const pick = fc.nat({ max: 63 });

const event: fc.Arbitrary<HistoryEvent> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'cycle' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('scale' as const),
      managers: fc.constantFrom<1 | 3 | 5>(1, 3, 5),
      workers: fc.nat({ max: 6 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rollout' as const), role, generation: fc.integer({ min: 1, max: 9 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('kill' as const), role, pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('terminate' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('partition' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('freeze' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cutController' as const), pick }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'heal' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('apiFaults' as const), level: fc.constantFrom<0 | 1 | 2>(0, 1, 2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('slowBoots' as const), on: fc.boolean() }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('killBetweenSteps' as const), role: fc.constantFrom<Role>('manager', 'worker'), pick }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('crash' as const), atCall: fc.integer({ min: 1, max: 40 }), applied: fc.boolean() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('leaderChange' as const),
      atCall: fc.integer({ min: 1, max: 40 }),
      noticeAfterMs: fc.integer({ min: 0, max: 10_000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('wait' as const), seconds: fc.integer({ min: 10, max: 120 }) }) },
);

export const historyPlan: fc.Arbitrary<HistoryPlan> = fc
  .record({
    seed: fc.integer({ min: 1, max: 0x7fffffff }),
    managers: fc.constantFrom<1 | 3 | 5>(1, 3, 3, 5),
    workers: fc.nat({ max: 5 }),
    maxSurge: fc.nat({ max: 2 }),
    maxUnavailable: fc.nat({ max: 2 }),
    zones: fc.boolean(),
    maxUnhealthy: fc.constantFrom<'40%' | '100%' | 2>('40%', '100%', 2),
    minHealthySeconds: fc.constantFrom<0 | 30>(0, 30),
    fastJoins: fc.boolean(),
    events: fc.array(event, { minLength: 5, maxLength: 25 }),
  })
  // A rollout needs room: maxSurge and maxUnavailable cannot both be 0.
  .map((p) => (p.maxSurge === 0 && p.maxUnavailable === 0 ? { ...p, maxUnavailable: 1 } : p))
  // A count may not exceed the nodes it counts (the spec validator refuses it).
  .map((p) => (p.maxUnhealthy === 2 && p.managers + p.workers < 2 ? { ...p, maxUnhealthy: '40%' as const } : p));
