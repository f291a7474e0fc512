// A real controller on real processes, for the controller's end-to-end tests and the
// convergence bench: a management etcd (1 member), the local provider (a dockerd plus a
// node agent per instance, etcd members on managers) in a short temp dir, and
// controllers wired exactly as `swarmkeeper run` wires them. stop() stops the
// controllers, terminates every instance (processes and directories) and the etcd.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { LocalProvider } from '../../src/providers/local/local-provider.ts';
import type { Instance } from '../../src/model/snapshot.ts';
import type { ProgressEvent } from '../../src/controller/events.ts';
import { wireController, type WiredController } from '../../src/controller/wire.ts';
import { createLogger, silentLogger, type Logger } from '../../src/log.ts';
import type { SwarmCluster, SwarmClusterStatus } from '../../src/spec/schema.ts';
import { getCondition } from '../../src/spec/conditions.ts';
import { EtcdClusterStore } from '../../src/store/etcd-store.ts';
import { Journal, type JournalEntry } from '../../src/store/journal.ts';
import { etcdFencedKv } from '../../src/store/fenced-kv.ts';
import { etcdManagement } from '../../src/store/management.ts';
import { startEtcdCluster, type EtcdTestCluster } from './etcd.ts';
import { until } from './until.ts';

export interface HarnessOptions {
  /** Second octet of the instances' loopback addresses (distinct per test file). */
  readonly block: number;
  readonly prefix?: string;
  /** SWARMKEEPER_TEST_LOG=debug shows the controller's log on stderr. */
  readonly logLevel?: string;
  /** The controller's re-check period while converging (default: the controller's own). */
  readonly convergingMs?: number;
}

export interface ControllerHarness {
  readonly mgmt: EtcdTestCluster;
  readonly client: Etcd3;
  readonly prefix: string;
  readonly baseDir: string;
  readonly block: number;
  readonly store: EtcdClusterStore;
  readonly journal: Journal;
  /** Every progress event of every controller, with the time it was seen. */
  readonly events: { at: number; identity: string; event: ProgressEvent }[];
  readonly provider: LocalProvider;
  startController(identity: string): Promise<WiredController>;
  stopController(c: WiredController): Promise<void>;
  apply(name: string, managers: number, workers: number, extra?: Partial<SwarmCluster['spec']>): Promise<void>;
  /** The document apply() writes, for a test that writes it another way (`swarmkeeper apply -f`). */
  doc(name: string, managers: number, workers: number, extra?: Partial<SwarmCluster['spec']>): unknown;
  status(name: string): Promise<SwarmClusterStatus | undefined>;
  waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T>;
  waitConverged(name: string, managers: number, workers: number, timeoutMs: number): Promise<SwarmClusterStatus>;
  journalOf(name: string): Promise<JournalEntry[]>;
  instances(name: string): Promise<Instance[]>;
  stop(): Promise<void>;
}

export async function startControllerHarness(opts: HarnessOptions): Promise<ControllerHarness> {
  const mgmt = await startEtcdCluster({ size: 1 });
  const client = mgmt.client();
  const prefix = opts.prefix ?? '/sk';
  const baseDir = mkdtempSync('/tmp/skc-');
  const store = new EtcdClusterStore(client, { prefix, ownsClient: false });
  const journal = new Journal(etcdFencedKv(client), { prefix });
  const provider = new LocalProvider({ baseDir, addressBlock: opts.block });
  const level = opts.logLevel ?? process.env.SWARMKEEPER_TEST_LOG;
  const logger: Logger = level ? createLogger({ level }) : silentLogger();
  const controllers = new Set<WiredController>();
  const events: ControllerHarness['events'] = [];
  const names = new Set<string>();

  const h: ControllerHarness = {
    mgmt,
    client,
    prefix,
    baseDir,
    block: opts.block,
    store,
    journal,
    events,
    provider,
    async startController(identity) {
      const wired = wireController({
        management: etcdManagement(client, prefix),
        managementEndpoints: mgmt.endpoints,
        logger: logger.child({ controller: identity }),
        identity,
        electionTtlSeconds: 3,
        resyncMs: 5000,
        ...(opts.convergingMs ? { convergingMs: opts.convergingMs } : {}),
      });
      wired.controller.on('progress', (event) => events.push({ at: performance.now(), identity, event }));
      controllers.add(wired);
      await wired.controller.start();
      return wired;
    },
    async stopController(c) {
      controllers.delete(c);
      await c.controller.stop();
    },
    async apply(name, managers, workers, extra = {}) {
      names.add(name);
      await store.apply(h.doc(name, managers, workers, extra));
    },
    doc(name, managers, workers, extra = {}) {
      return {
        apiVersion: 'swarmkeeper.dev/v1alpha1',
        kind: 'SwarmCluster',
        metadata: { name },
        spec: {
          managers: { count: managers },
          workers: { count: workers },
          provider: { local: { baseDir, addressBlock: opts.block } },
          healing: { unhealthyAfterSeconds: 5, nodeStartupTimeoutSeconds: 180, minHealthySeconds: 0 },
          ...extra,
        },
      };
    },
    async status(name) {
      return (await store.get(name))?.status;
    },
    waitFor(what, check, timeoutMs) {
      return until(what, check, timeoutMs);
    },
    async waitConverged(name, managers, workers, timeoutMs) {
      return h.waitFor(
        `${name} converged to ${managers}+${workers}`,
        async () => {
          const stored = await store.get(name);
          const s = stored?.status;
          if (!s || s.observedGeneration !== stored?.cluster.metadata.generation) return undefined;
          const ready = getCondition(s.conditions, 'Ready')?.status === 'True';
          const nodes = s.nodes ?? [];
          const ok = ready && s.managers?.ready === managers && s.workers?.ready === workers && nodes.length === managers + workers;
          return ok ? s : undefined;
        },
        timeoutMs,
      );
    },
    journalOf: (name) => journal.list(name),
    instances: (name) => provider.list(name),
    async stop() {
      await Promise.all([...controllers].map((c) => c.controller.stop().catch(() => undefined)));
      controllers.clear();
      for (const name of names) {
        for (const i of await provider.list(name).catch(() => [] as Instance[]))
          await provider.terminate(name, i.id).catch(() => undefined);
      }
      // Node dirs whose record is already gone but whose processes might not be.
      const nodeRoot = join(baseDir, 'n');
      for (const id of existsSync(nodeRoot) ? readdirSync(nodeRoot) : []) {
        for (const name of names) await provider.terminate(name, id).catch(() => undefined);
      }
      await provider.close();
      rmSync(baseDir, { recursive: true, force: true });
      client.close();
      await mgmt.stop();
    },
  };
  return h;
}
