// Where a launch goes: nodes of a role spread over the spec's subnets (and so their
// availability zones), least-populated first, ties broken by the spec's order so the
// choice is deterministic for the same picture of the world. A batch is split into one
// RunInstances call per subnet it lands in.
//
// Client tokens: EC2 answers a repeated RunInstances with the same ClientToken with the
// first call's instances, and fails (IdempotentParameterMismatch) when the parameters
// differ. The request's token names the launch intent; each call's token is derived from
// it AND the call's varying parameters (subnet, count), so a token is never reused with
// other parameters, and a repeat of the same call is still recognised by EC2.
import { createHash } from 'node:crypto';
import type { Instance } from '../../model/snapshot.ts';
import type { Role } from '../../spec/schema.ts';

export interface LaunchChunk {
  readonly subnetId: string;
  readonly count: number;
}

/** Non-terminated instances of `role` per subnet of the spec (other subnets ignored). */
export function subnetPopulation(subnetIds: readonly string[], instances: readonly Instance[], role: Role): Map<string, number> {
  const pop = new Map(subnetIds.map((s) => [s, 0]));
  for (const i of instances) {
    if (i.role !== role || i.state === 'terminated' || i.state === 'shutting-down' || !i.subnetId) continue;
    if (pop.has(i.subnetId)) pop.set(i.subnetId, (pop.get(i.subnetId) ?? 0) + 1);
  }
  return pop;
}

/**
 * Subnets in the order to try: the preferred one first (a subnet id, or an availability
 * zone some instance was seen in), then by population, then by spec order.
 */
export function orderSubnets(
  subnetIds: readonly string[],
  population: ReadonlyMap<string, number>,
  preferred?: string,
  zoneOfSubnet?: ReadonlyMap<string, string>,
): string[] {
  const rank = (s: string): number => (s === preferred || (preferred !== undefined && zoneOfSubnet?.get(s) === preferred) ? 0 : 1);
  return [...subnetIds].sort(
    (a, b) => rank(a) - rank(b) || (population.get(a) ?? 0) - (population.get(b) ?? 0) || subnetIds.indexOf(a) - subnetIds.indexOf(b),
  );
}

/** Water-fills `count` new instances into the least-populated subnets. */
export function splitBatch(
  count: number,
  subnetIds: readonly string[],
  population: ReadonlyMap<string, number>,
  preferred?: string,
  zoneOfSubnet?: ReadonlyMap<string, string>,
): LaunchChunk[] {
  if (subnetIds.length === 0 || count <= 0) return [];
  const order = orderSubnets(subnetIds, population, preferred, zoneOfSubnet);
  const pop = new Map(order.map((s) => [s, population.get(s) ?? 0]));
  const added = new Map<string, number>();
  for (let n = 0; n < count; n++) {
    // The first subnet in `order` with the least population takes the next instance.
    let best = order[0] as string;
    for (const s of order) if ((pop.get(s) ?? 0) < (pop.get(best) ?? 0)) best = s;
    pop.set(best, (pop.get(best) ?? 0) + 1);
    added.set(best, (added.get(best) ?? 0) + 1);
  }
  return order.filter((s) => added.has(s)).map((s) => ({ subnetId: s, count: added.get(s) ?? 0 }));
}

export const MAX_CLIENT_TOKEN = 64;

/** The ClientToken of one RunInstances call: <= 64 printable ASCII, a pure function of its inputs. */
export function callClientToken(requestToken: string, subnetId: string, count: number): string {
  if (!/^[\x21-\x7e]{1,64}$/.test(requestToken)) throw new Error('client token must be 1-64 printable ASCII characters');
  const digest = createHash('sha256').update(`${requestToken}|${subnetId}|${count}`).digest('hex').slice(0, 16);
  return `${requestToken.slice(0, MAX_CLIENT_TOKEN - 17)}-${digest}`;
}
