// `swarmkeeper demo`: the whole loop on one machine. A management etcd, the sample spec
// applied to it, the controller in-process (createController) with the local
// provider (or the sim one), then three stages, each ending with the node table and
// its elapsed time: create (3 managers + 2 workers), scale workers up, and self-heal
// after a manager's dockerd and etcd are killed with SIGKILL. With the local provider a
// sample service (web, 6 replicas, from a loopback registry) is deployed after the
// first stage, and each later stage says how many of its replicas ran at the lowest.
// `-o json` prints a summary of the stages as JSON on stdout at the end.
//
// Teardown contract: whatever happens (a stage fails, Ctrl-C, SIGTERM), the finally
// block stops the controller first (so it launches nothing more), then terminates every
// instance (processes stopped, mounts and directories removed, addresses released),
// then stops the management etcd and deletes the demo's directory. --keep skips the
// last two and prints how to take it down later (`swarmkeeper demo --down DIR`).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Controller } from '../../controller/controller.ts';
import { SwarmkeeperError, messageOf } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { checkLocalPrerequisites } from '../../providers/local/preflight.ts';
import type { SwarmClusterStatus } from '../../spec/schema.ts';
import { createEtcdClient } from '../../store/etcd-client.ts';
import { EtcdClusterStore } from '../../store/etcd-store.ts';
import { localBackend, simBackend, type DemoBackend } from './demo-backends.ts';
import { convergedOn, DemoProgress, type Print } from './demo-progress.ts';
import { DEMO_CLUSTER, demoCluster } from './demo-spec.ts';
import { managementEtcdPaths, startManagementEtcd, type ManagementEtcd } from './management-etcd.ts';
import { nodeTableLines } from '../node-table.ts';
import { demoWorkloadProblems, serviceLine, startDemoWorkload, type DemoWorkload } from './demo-workload.ts';
import type { ServiceAvailability } from '../../workload/availability.ts';

export const DEMO_PREFIX = '/swarmkeeper';

export interface DemoRunOptions {
  readonly keep: boolean;
  /** Per stage. */
  readonly timeoutMs: number;
  readonly provider: 'auto' | 'local' | 'sim';
  readonly workers: number;
  readonly scaleWorkersTo: number;
  readonly print: Print;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** 'json': a machine-readable summary at the end (written with `emit`). */
  readonly output?: 'json';
  readonly emit?: Print;
}

export interface DemoStageSummary {
  readonly stage: string;
  readonly seconds: number;
  readonly phase: string;
  readonly service?: ServiceAvailability;
}

export interface DemoSummary {
  readonly cluster: string;
  readonly provider: 'local' | 'sim';
  readonly image?: string;
  readonly stages: DemoStageSummary[];
  readonly quorum: string[];
  readonly seconds: number;
}

export async function runDemo(o: DemoRunOptions): Promise<void> {
  const mode = chooseMode(o);
  const started = Date.now();
  const dir = mkdtempSync('/tmp/skd-');
  const teardown: { what: string; run: () => Promise<unknown> }[] = [];
  let controller: Controller | undefined;
  let backend: DemoBackend | undefined;
  let mgmt: ManagementEtcd | undefined;
  let workload: DemoWorkload | undefined;
  const summary: DemoSummary = { cluster: DEMO_CLUSTER, provider: mode, stages: [], quorum: [], seconds: 0 };
  try {
    o.print(`swarmkeeper demo: provider ${mode}, state in ${dir}`);
    mgmt = await startManagementEtcd(dir, { detached: o.keep });
    writeFileSync(managementEtcdPaths(dir).addressFile, mgmt.address);
    o.print(`Management etcd at ${mgmt.clientUrl}`);
    const client = createEtcdClient({ endpoints: [mgmt.clientUrl], prefix: DEMO_PREFIX });
    teardown.push({ what: 'closing etcd clients', run: async () => client.close() });
    const store = new EtcdClusterStore(client, { prefix: DEMO_PREFIX, ownsClient: false });
    backend = mode === 'local' ? localBackend(dir, o.logger) : simBackend();
    const b = backend;
    const progress = new DemoProgress(o.print);
    controller = b.controller({ client, prefix: DEMO_PREFIX, managementEndpoints: [mgmt.clientUrl], logger: o.logger });
    controller.on('progress', progress.onEvent);
    await controller.start();

    if (mode === 'local') workload = await startWorkload(dir, o);
    const w = workload;
    if (w) Object.assign(summary, { image: w.image });

    const stage = async (
      title: string,
      goal: (s: SwarmClusterStatus) => boolean,
      act: () => Promise<void>,
      during?: string,
    ): Promise<void> => {
      o.print(`\n== ${title}`);
      progress.startStage();
      w?.stage();
      await act();
      await progress.waitFor(goal, title, o.timeoutMs, o.signal);
      o.print(`\n${indented(nodeTableLines(progress.latest?.nodes ?? []))}`);
      const seconds = progress.elapsedSeconds();
      o.print(`  -> ${progress.latest?.phase ?? '?'} in ${seconds.toFixed(1)} s`);
      const service = during ? w?.stage() : undefined;
      if (service && during) o.print(`  ${serviceLine(service, during)}`);
      summary.stages.push({
        stage: title,
        seconds: round1(seconds),
        phase: progress.latest?.phase ?? '?',
        ...(service ? { service } : {}),
      });
    };

    await stage(`1/3 Creating cluster ${DEMO_CLUSTER}: 3 managers, ${o.workers} workers`, convergedOn(3, o.workers), async () => {
      await store.apply(demoCluster({ workers: o.workers, provider: b.providerSpec }));
    });
    if (w) {
      const managers = async () =>
        (await b.provider.list(DEMO_CLUSTER))
          .filter((i) => i.role === 'manager' && i.state === 'running')
          .map((i) => b.provider.dockerEndpoint(i));
      const deployed = await w.deploy(managers, o.timeoutMs);
      o.print(
        `  Deployed ${deployed.service} (${deployed.replicas} replicas of ${w.image}): ${deployed.latest}/${deployed.replicas} running`,
      );
    }
    await stage(
      `2/3 Scaling workers ${o.workers} -> ${o.scaleWorkersTo}`,
      convergedOn(3, o.scaleWorkersTo),
      async () => {
        await store.apply(demoCluster({ workers: o.scaleWorkersTo, provider: b.providerSpec }));
      },
      o.scaleWorkersTo < o.workers ? 'during the drain' : 'during the scale',
    );
    const victim = pickVictim(progress.latest);
    const managerIds = (progress.latest?.nodes ?? []).filter((n) => n.role === 'manager').map((n) => n.instanceId);
    const sampler = b.sampleQuorum(DEMO_CLUSTER, managerIds, victim);
    await stage(
      `3/3 Self-heal: killing manager ${victim}`,
      (s) => convergedOn(3, o.scaleWorkersTo)(s) && !(s.nodes ?? []).some((n) => n.instanceId === victim),
      async () => {
        o.print(`  ${await b.killManager(victim)}`);
        // Show the dead node as the controller first sees it, before it is replaced.
        const seen = (st: SwarmClusterStatus): boolean => (st.nodes ?? []).some((n) => n.instanceId === victim && !n.healthy);
        await progress.waitFor(seen, 'seeing the dead manager', Math.min(o.timeoutMs, 60_000), o.signal).then(
          () => {
            o.print(`\n${indented(nodeTableLines(progress.latest?.nodes ?? []))}`);
            o.print(`  -> the controller saw ${victim} dead after ${progress.elapsedSeconds().toFixed(1)} s\n`);
          },
          (err: unknown) => {
            if (o.signal.aborted) throw err;
          },
        );
      },
      'during the self-heal',
    );
    for (const line of await sampler.stop()) {
      o.print(`  ${line}`);
      summary.quorum.push(line);
    }
    o.print(`\nDemo complete in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
    if (o.output === 'json') (o.emit ?? o.print)(JSON.stringify({ ...summary, seconds: round1((Date.now() - started) / 1000) }, null, 2));
  } finally {
    await shutDown();
  }

  async function shutDown(): Promise<void> {
    const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        o.print(`  (while ${what}: ${messageOf(err)})`);
      }
    };
    o.print(o.keep ? '\nStopping the controller (cluster kept)' : '\nCleaning up');
    if (controller) await step('stopping the controller', () => controller!.stop());
    if (workload) await step('stopping the image registry', () => workload!.stop());
    if (backend && !o.keep) {
      const b = backend;
      await step('terminating instances', async () => o.print(`  terminated ${await b.terminateAll(DEMO_CLUSTER)} instances`));
    }
    if (backend) await step('closing the provider', () => backend!.close());
    for (const t of teardown.reverse()) await step(t.what, t.run);
    if (o.keep && mgmt) {
      o.print(`Kept: management etcd ${mgmt.clientUrl} (prefix ${DEMO_PREFIX}), state in ${dir}`);
      o.print(`  swarmkeeper --etcd-endpoints ${mgmt.clientUrl} status ${DEMO_CLUSTER}`);
      o.print(`  take it down with: swarmkeeper demo --down ${dir}`);
      return;
    }
    if (mgmt) await step('stopping the management etcd', () => mgmt!.stop());
    await step('removing the demo directory', async () => rmSync(dir, { recursive: true, force: true }));
    o.print('Nothing left running.');
  }
}

/** The sample service's registry and image, or undefined (with a note) when the machine lacks them. */
async function startWorkload(dir: string, o: DemoRunOptions): Promise<DemoWorkload | undefined> {
  const problems = demoWorkloadProblems();
  if (problems.length > 0) {
    for (const p of problems) o.print(`note: ${p}`);
    o.print('note: running without the sample service');
    return undefined;
  }
  const w = await startDemoWorkload(dir);
  o.print(`Image registry at ${w.image.split('/')[0]} serving ${w.image}`);
  return w;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

function chooseMode(o: DemoRunOptions): 'local' | 'sim' {
  const pre = checkLocalPrerequisites();
  if (pre.missing.some((m) => m.binary === 'etcd')) {
    throw new SwarmkeeperError('Unavailable', 'the demo keeps its spec and status in etcd: install it with `apt-get install etcd-server`');
  }
  if (o.provider === 'sim') return 'sim';
  if (pre.problems.length === 0) return 'local';
  if (o.provider === 'local') throw new SwarmkeeperError('Unavailable', `the local provider cannot run here: ${pre.problems.join('; ')}`);
  for (const p of pre.problems) o.print(`note: ${p}`);
  o.print('note: falling back to the sim provider (simulated nodes in memory, the same controller and planner)');
  return 'sim';
}

/** A healthy manager that leads neither raft when there is one (the leader works too; it adds an election). */
export function pickVictim(status: SwarmClusterStatus | undefined): string {
  const managers = (status?.nodes ?? []).filter((n) => n.role === 'manager');
  const follower = [...managers].reverse().find((n) => n.healthy && n.etcdMembership === 'voter');
  const victim = follower ?? managers.at(-1);
  if (!victim) throw new SwarmkeeperError('Internal', 'no manager to kill');
  return victim.instanceId;
}

function indented(lines: readonly string[]): string {
  return lines.map((l) => `  ${l}`).join('\n');
}
