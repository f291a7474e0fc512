// The Provider port's contract (src/providers/provider.ts), as one suite every
// implementation runs: the planner and the executor rely on these behaviours whichever
// provider a spec names, so each provider proves them against its real peer (moto for
// ec2, real processes for local, the in-memory world for sim).
import { describe, expect, it } from 'vitest';
import type { Instance } from '../../src/model/snapshot.ts';
import type { LaunchRequest, Provider } from '../../src/providers/provider.ts';
import type { Role } from '../../src/spec/schema.ts';

export interface ProviderUnderTest {
  readonly provider: Provider;
  /** The cluster the requests launch into. */
  readonly cluster: string;
  /** A launch request for `cluster` (or for `otherCluster` when asked). */
  request(role: Role, count: number, clientToken: string, cluster?: 'other'): LaunchRequest;
  /** A second cluster name the same provider serves. */
  readonly otherCluster: string;
  /** Lets time pass where the provider is eventually consistent (the sim's clock). */
  settle(): Promise<void>;
}

export interface ContractOptions {
  /** How many instances a test may launch at once; real processes are costly. */
  readonly batch: number;
}

/** list() until `check` holds (providers may be eventually consistent), then return it. */
async function listUntil(p: ProviderUnderTest, cluster: string, check: (is: Instance[]) => boolean): Promise<Instance[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    await p.settle();
    const is = await p.provider.list(cluster);
    if (check(is) || Date.now() > deadline) return is;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const ids = (is: readonly Instance[]): string[] => is.map((i) => i.id).sort();

let tokenSeq = 0;
function aToken(what: string): string {
  tokenSeq += 1;
  return `contract-${what}-${process.pid}-${tokenSeq}`;
}

export function describeProviderContract(name: string, setup: () => ProviderUnderTest, opts: ContractOptions): void {
  describe(`Provider contract: ${name}`, () => {
    it('lists nothing for a cluster that has no instances', async () => {
      const p = setup();
      expect(await p.provider.list(`${p.cluster}-empty`)).toEqual([]);
    });

    it('launches the count asked for, of the role asked for, tagged with the launch', async () => {
      const p = setup();
      const req = p.request('worker', opts.batch, aToken('launch'));
      const launched = await p.provider.launch(req);
      expect(launched).toHaveLength(opts.batch);
      expect(new Set(launched.map((i) => i.id)).size).toBe(opts.batch);
      for (const i of launched) {
        expect(i.role).toBe('worker');
        expect(i.configHash).toBe(req.configHash);
        expect(i.state).not.toBe('terminated');
      }
      const listed = await listUntil(p, p.cluster, (is) => launched.every((l) => is.some((i) => i.id === l.id)));
      expect(ids(listed)).toEqual(expect.arrayContaining(ids(launched)));
    });

    it('a repeated launch with the same client token returns the first instances and launches nothing', async () => {
      const p = setup();
      const token = aToken('idempotent');
      const first = await p.provider.launch(p.request('worker', 1, token));
      const before = await listUntil(p, p.cluster, (is) => is.some((i) => i.id === first[0]?.id));
      const again = await p.provider.launch(p.request('worker', 1, token));
      expect(ids(again)).toEqual(ids(first));
      await p.settle();
      expect(ids(await p.provider.list(p.cluster))).toEqual(ids(before));
    });

    it("keeps clusters apart: one cluster's list never shows another's instances", async () => {
      const p = setup();
      const other = await p.provider.launch(p.request('worker', 1, aToken('other'), 'other'));
      const listedOther = await listUntil(p, p.otherCluster, (is) => is.some((i) => i.id === other[0]?.id));
      expect(ids(listedOther)).toContain(other[0]?.id);
      await p.settle();
      expect(ids(await p.provider.list(p.cluster))).not.toContain(other[0]?.id);
    });

    it('terminate removes the instance from list(); terminating it again resolves (the goal state)', async () => {
      const p = setup();
      const [victim] = await p.provider.launch(p.request('worker', 1, aToken('terminate')));
      if (!victim) throw new Error('launch returned no instance');
      await listUntil(p, p.cluster, (is) => is.some((i) => i.id === victim.id));
      await p.provider.terminate(p.cluster, victim.id);
      const after = await listUntil(p, p.cluster, (is) => !is.some((i) => i.id === victim.id));
      expect(ids(after)).not.toContain(victim.id);
      await expect(p.provider.terminate(p.cluster, victim.id)).resolves.toBeUndefined();
    });

    it('reaches a node only by socket or by TLS with a client certificate, never plain TCP', async () => {
      const p = setup();
      const [one] = await p.provider.launch(p.request('manager', 1, aToken('endpoint')));
      if (!one) throw new Error('launch returned no instance');
      const listed = await listUntil(p, p.cluster, (is) => is.some((i) => i.id === one.id && i.address !== undefined));
      const instance = listed.find((i) => i.id === one.id) ?? one;
      const endpoint = p.provider.dockerEndpoint(instance);
      if ('socketPath' in endpoint) expect(endpoint.socketPath).toMatch(/^\//);
      else for (const part of [endpoint.ca, endpoint.cert, endpoint.key]) expect(part.length).toBeGreaterThan(0);
      expect(p.provider.etcdClientUrl(instance)).toMatch(/^https?:\/\/[^/]+:\d+$/);
    });
  });
}
