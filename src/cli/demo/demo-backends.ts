// Where the demo's nodes come from. `local`: real dockerd, etcd and node agents on this
// machine (needs root, dockerd, etcd). `sim`: the SimWorld, in memory, its clock run
// ten times faster than the wall clock (the fallback without root). Both give the
// controller a Provider and peer clients, and the demo a way to kill a manager and to
// watch both rafts' quorum while it heals.
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { etcdQuorumProbe } from '../../etcd/quorum-probe.ts';
import { runningEtcdPid } from '../../etcd/etcd-process.ts';
import { createController, type Controller } from '../../controller/controller.ts';
import { wireController } from '../../controller/wire.ts';
import { checkPrecondition } from '../../plan/preconditions.ts';
import { plan } from '../../plan/plan.ts';
import type { createEtcdClient } from '../../store/etcd-client.ts';
import { etcdManagement } from '../../store/management.ts';
import { ingestSpec } from '../../store/spec-intake.ts';
import { LocalProvider } from '../../providers/local/local-provider.ts';
import type { Provider } from '../../providers/provider.ts';
import { withTimeout } from '../../observe/with-timeout.ts';
import { SimWorld } from '../../providers/sim/index.ts';
import type { Logger } from '../../log.ts';
import type { ProviderSpec } from '../../spec/schema.ts';
import { DockerSwarm } from '../../swarm/docker-swarm.ts';
import { dockerdPid } from '../../swarm/dockerd-process.ts';

export const DEMO_NODE_BLOCK = 200;

export interface QuorumSampler {
  /** Stops sampling; one line per raft saying whether it kept quorum. */
  stop(): Promise<string[]>;
}

export interface DemoControllerWiring {
  /** The management etcd client; the caller owns (closes) it. */
  readonly client: ReturnType<typeof createEtcdClient>;
  readonly prefix: string;
  readonly managementEndpoints: readonly string[];
  readonly logger: Logger;
}

/** Demo pacing: re-check often while converging. */
const PACING = { resyncMs: 5_000, convergingMs: 500, electionTtlSeconds: 5 } as const;

export interface DemoBackend {
  readonly mode: 'local' | 'sim';
  readonly providerSpec: ProviderSpec;
  readonly provider: Provider;
  /** The controller, wired to this backend's provider and peers. */
  controller(w: DemoControllerWiring): Controller;
  /** kill -9 of a manager's dockerd and etcd (local) or the node dying (sim). */
  killManager(instanceId: string): Promise<string>;
  /** Samples etcd and swarm through the managers other than `except`. */
  sampleQuorum(cluster: string, managerIds: readonly string[], except: string): QuorumSampler;
  /** Terminates every instance of the cluster; returns how many. */
  terminateAll(cluster: string): Promise<number>;
  close(): Promise<void>;
}

export function localBackend(dir: string, logger: Logger): DemoBackend {
  const provider = new LocalProvider({ baseDir: dir, addressBlock: DEMO_NODE_BLOCK, logger });
  const nodeDir = (id: string): string => join(dir, 'n', id);
  return {
    mode: 'local',
    providerSpec: { local: { baseDir: dir, addressBlock: DEMO_NODE_BLOCK } },
    provider,
    // The same wiring as `swarmkeeper run` (wireController), with this provider.
    controller: (w) =>
      wireController({
        management: etcdManagement(w.client, w.prefix),
        managementEndpoints: w.managementEndpoints,
        logger: w.logger,
        providerFor: () => provider,
        ...PACING,
      }).controller,
    killManager: async (id) => {
      const dockerd = dockerdPid(nodeDir(id));
      const etcd = runningEtcdPid(join(nodeDir(id), 'agent', 'etcd.pid'));
      for (const pid of [dockerd, etcd]) {
        try {
          if (pid !== undefined) process.kill(pid, 'SIGKILL');
        } catch {
          // already gone: dead is what we want
        }
      }
      return `kill -9 dockerd (pid ${dockerd ?? 'none'}) and etcd (pid ${etcd ?? 'none'}) of ${id}`;
    },
    sampleQuorum: (cluster, managerIds, except) =>
      sampleRealQuorum(
        provider,
        dir,
        cluster,
        managerIds.filter((id) => id !== except),
      ),
    terminateAll: async (cluster) => {
      const all = await provider.list(cluster);
      await Promise.all(all.map((i) => provider.terminate(cluster, i.id)));
      return all.length;
    },
    close: () => provider.close(),
  };
}

/** Every 500 ms: a linearizable etcd read and a swarm node list through the survivors. */
function sampleRealQuorum(provider: LocalProvider, dir: string, cluster: string, survivorIds: readonly string[]): QuorumSampler {
  const tallies = { etcd: { ok: 0, failed: 0, gapMs: 0, failingSince: 0 }, swarm: { ok: 0, failed: 0, gapMs: 0, failingSince: 0 } };
  let stopped = false;
  const setup = provider.list(cluster).then((all) => {
    const survivors = all.filter((i) => survivorIds.includes(i.id));
    const etcd = etcdQuorumProbe(survivors.map((i) => provider.etcdClientUrl(i)));
    const swarms = survivors.map((i) => new DockerSwarm({ socketPath: join(dir, 'n', i.id, 'd.sock') }, { requestTimeoutMs: 2_000 }));
    return { etcd, swarms };
  });
  const record = (t: (typeof tallies)['etcd'], ok: boolean, at: number): void => {
    if (ok) {
      t.ok++;
      if (t.failingSince) t.gapMs = Math.max(t.gapMs, at - t.failingSince);
      t.failingSince = 0;
    } else {
      t.failed++;
      if (!t.failingSince) t.failingSince = at;
    }
  };
  const loop = (async () => {
    const { etcd, swarms } = await setup;
    while (!stopped) {
      const at = Date.now();
      const [e, s] = await Promise.all([
        withTimeout(etcd.read('/swarmkeeper-demo/probe'), 2_000, 'etcd').then(
          () => true,
          () => false,
        ),
        Promise.any(swarms.map((sw) => withTimeout(sw.listNodes(), 2_000, 'swarm'))).then(
          () => true,
          () => false,
        ),
      ]);
      record(tallies.etcd, e, at);
      record(tallies.swarm, s, at);
      await sleep(500);
    }
    etcd.close();
    await Promise.all(swarms.map((s) => s.close().catch(() => undefined)));
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop.catch(() => undefined);
      return (['etcd', 'swarm'] as const).map((raft) => {
        const t = tallies[raft];
        const total = t.ok + t.failed;
        const verdict = t.failed === 0 ? 'quorum kept' : `${t.failed} failed (longest gap ${(t.gapMs / 1000).toFixed(1)} s)`;
        return `${raft.padEnd(5)} ${t.ok}/${total} samples served through the surviving managers: ${verdict}`;
      });
    },
  };
}

export function simBackend(seed = 7): DemoBackend & { readonly world: SimWorld } {
  const world = new SimWorld({ seed, timings: { bootMs: [3_000, 8_000] } });
  // Ten times the wall clock: a 30 s boot takes 3 s.
  const timer = setInterval(() => world.advance(500), 50);
  timer.unref?.();
  return {
    mode: 'sim',
    world,
    providerSpec: { sim: { seed } },
    provider: world.provider,
    // wireController's peers are real adapters; the sim's are in memory and its clock is
    // virtual, so this one is wired by hand with the same planner and stores.
    controller: (w) => {
      const management = etcdManagement(w.client, w.prefix, () => world.now);
      const store = management.specs;
      return createController({
        management,
        prefix: w.prefix,
        managementEndpoints: w.managementEndpoints,
        providerFor: () => world.provider,
        peers: { swarm: () => world.swarm, etcd: () => world.etcd },
        loop: {
          store,
          plan,
          checkPrecondition,
          marks: management.marks,
          ingest: (name, fence) => ingestSpec(store, name, world.now, fence),
        },
        logger: w.logger,
        now: () => world.now,
        ...PACING,
      });
    },
    killManager: async (id) => {
      world.kill(id);
      return `node ${id} died (simulated)`;
    },
    sampleQuorum: () => {
      const from = world.quorumEvents.length;
      return {
        stop: async () => {
          const lost = world.quorumEvents.slice(from).filter((e) => e.kind === 'lost');
          return (['etcd', 'swarm'] as const).map((raft) => {
            const l = lost.filter((e) => e.raft === raft);
            return `${raft.padEnd(5)} ${l.length === 0 ? 'quorum kept throughout (every change checked by the simulator)' : `quorum lost ${l.length} times: ${l.map((e) => e.detail).join('; ')}`}`;
          });
        },
      };
    },
    terminateAll: async (cluster) => {
      const all = await world.provider.list(cluster);
      for (const i of all) await world.provider.terminate(cluster, i.id);
      return all.length;
    },
    close: async () => clearInterval(timer),
  };
}
