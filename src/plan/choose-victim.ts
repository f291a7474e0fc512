// Which node to remove, and where to put a new one (rule 9). Removals pick, in order:
// a removal already started, marked for deletion (or for replacement, or cordoned or
// drained by the operator), never joined, unhealthy, outdated,
// then the rest; inside a class the controller's own node and the current leaders go
// last, and among equals the oldest node of the most-populated zone goes first. New
// nodes go to the least-populated zone. Both are total orders: the plan is stable.
import type { NodeView } from './inventory.ts';
import { compareStrings } from './inventory.ts';

export function victimClass(n: NodeView): number {
  if (n.removing) return 0;
  if (
    n.control?.markedForDeletion ||
    n.control?.request?.action === 'replace' ||
    n.operatorAvailability === 'drain' ||
    n.operatorAvailability === 'pause'
  )
    return 1;
  if (!n.joined || n.orphan) return 2;
  if (n.dead) return 3;
  if (n.outdated) return 4;
  return 5;
}

export const VICTIM_CLASS_NAMES = [
  'removal already started',
  'marked for deletion',
  'never joined',
  'unhealthy',
  'outdated',
  'oldest in the most-populated zone',
] as const;

/** Why `n` is chosen, in words: its class, or the operator request that put it there. */
export function victimReason(n: NodeView): string {
  const cls = victimClass(n);
  if (cls === 1 && !n.control?.markedForDeletion) {
    if (n.control?.request?.action === 'replace') return 'replacement asked for by the operator';
    return `${n.operatorAvailability === 'drain' ? 'drained' : 'cordoned'} by the operator`;
  }
  return cls === 4 ? 'outdated: replaced by the new one' : (VICTIM_CLASS_NAMES[cls] ?? '');
}

/** `nodes` ordered best victim first. `population` counts the role's nodes per zone. */
export function orderVictims(nodes: readonly NodeView[], population: ReadonlyMap<string, number>): NodeView[] {
  const keyed = nodes.map((n) => ({
    n,
    cls: victimClass(n),
    last: n.self ? 2 : n.leader ? 1 : 0,
    pop: population.get(zoneOf(n)) ?? 0,
  }));
  keyed.sort(
    (a, b) =>
      a.cls - b.cls ||
      a.last - b.last ||
      b.pop - a.pop ||
      a.n.instance.launchedAt - b.n.instance.launchedAt ||
      compareStrings(a.n.id, b.n.id),
  );
  return keyed.map((k) => k.n);
}

export function zoneOf(n: NodeView): string {
  return n.instance.zone ?? n.instance.subnetId ?? '';
}

export function zonePopulation(nodes: readonly NodeView[]): Map<string, number> {
  const pop = new Map<string, number>();
  for (const n of nodes) {
    const z = zoneOf(n);
    pop.set(z, (pop.get(z) ?? 0) + 1);
  }
  return pop;
}

/**
 * Zones for `count` new nodes: each goes to the currently least-populated zone (ties
 * by the spec's zone order), counting the ones already placed. Empty zone list: none.
 */
export function chooseZones(zones: readonly string[], population: ReadonlyMap<string, number>, count: number): (string | undefined)[] {
  if (zones.length === 0) return Array.from({ length: count }, () => undefined);
  const pop = zones.map((z) => population.get(z) ?? 0);
  const out: string[] = [];
  for (let k = 0; k < count; k++) {
    let best = 0;
    for (let i = 1; i < zones.length; i++) if ((pop[i] ?? 0) < (pop[best] ?? 0)) best = i;
    out.push(zones[best] ?? '');
    pop[best] = (pop[best] ?? 0) + 1;
  }
  return out;
}
