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
import { createEtcdClient } from '../../store/etcd-client.ts';
import { EtcdClusterStore } from '../../store/etcd-store.ts';
import { localBackend, simBackend, type DemoBackend } from './demo-backends.ts';
import { DemoProgress, type Print } from './demo-progress.ts';
import { DEMO_CLUSTER } from './demo-spec.ts';
import { managementEtcdPaths, startManagementEtcd, type ManagementEtcd } from './management-etcd.ts';
import { demoWorkloadProblems, startDemoWorkload, type DemoWorkload } from './demo-workload.ts';
import { round1, runStages, type DemoStageSummary } from './demo-stages.ts';

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
  const session: DemoSession = { dir: mkdtempSync('/tmp/skd-'), teardown: [] };
  const summary: DemoSummary = { cluster: DEMO_CLUSTER, provider: mode, stages: [], quorum: [], seconds: 0 };
  try {
    o.print(`swarmkeeper demo: provider ${mode}, state in ${session.dir}`);
    const { store, progress, backend } = await startDemo(session, mode, o);
    const workload = session.workload;
    if (workload) Object.assign(summary, { image: workload.image });
    await runStages({ o, store, backend, progress, ...(workload ? { workload } : {}), stages: summary.stages, quorum: summary.quorum });
    o.print(`\nDemo complete in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
    if (o.output === 'json') (o.emit ?? o.print)(JSON.stringify({ ...summary, seconds: round1((Date.now() - started) / 1000) }, null, 2));
  } finally {
    await shutDown(session, o);
  }
}

/** What the demo has started so far: shutDown stops it whatever happened. */
interface DemoSession {
  readonly dir: string;
  readonly teardown: { what: string; run: () => Promise<unknown> }[];
  mgmt?: ManagementEtcd;
  backend?: DemoBackend;
  controller?: Controller;
  workload?: DemoWorkload;
}

/** The management etcd, the backend's controller (started) and, with the local provider, the sample service's registry. */
async function startDemo(session: DemoSession, mode: 'local' | 'sim', o: DemoRunOptions) {
  const { dir } = session;
  const mgmt = (session.mgmt = await startManagementEtcd(dir, { detached: o.keep }));
  writeFileSync(managementEtcdPaths(dir).addressFile, mgmt.address);
  o.print(`Management etcd at ${mgmt.clientUrl}`);
  const client = createEtcdClient({ endpoints: [mgmt.clientUrl], prefix: DEMO_PREFIX });
  session.teardown.push({ what: 'closing etcd clients', run: async () => client.close() });
  const store = new EtcdClusterStore(client, { prefix: DEMO_PREFIX, ownsClient: false });
  const backend = (session.backend = mode === 'local' ? localBackend(dir, o.logger) : simBackend());
  const progress = new DemoProgress(o.print);
  const controller = (session.controller = backend.controller({
    client,
    prefix: DEMO_PREFIX,
    managementEndpoints: [mgmt.clientUrl],
    logger: o.logger,
  }));
  controller.on('progress', progress.onEvent);
  await controller.start();
  if (mode === 'local') session.workload = await startWorkload(dir, o);
  return { store, progress, backend };
}

/**
 * The controller first (it launches nothing more), then the registry, the instances
 * (unless --keep), the provider, the clients, the management etcd and the directory.
 * A failing part is reported and the rest still runs.
 */
async function shutDown(session: DemoSession, o: DemoRunOptions): Promise<void> {
  const { dir, mgmt, backend, controller, workload } = session;
  const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      o.print(`  (while ${what}: ${messageOf(err)})`);
    }
  };
  o.print(o.keep ? '\nStopping the controller (cluster kept)' : '\nCleaning up');
  if (controller) await step('stopping the controller', () => controller.stop());
  if (workload) await step('stopping the image registry', () => workload.stop());
  if (backend && !o.keep) {
    await step('terminating instances', async () => o.print(`  terminated ${await backend.terminateAll(DEMO_CLUSTER)} instances`));
  }
  if (backend) await step('closing the provider', () => backend.close());
  for (const t of session.teardown.reverse()) await step(t.what, t.run);
  if (o.keep && mgmt) {
    o.print(`Kept: management etcd ${mgmt.clientUrl} (prefix ${DEMO_PREFIX}), state in ${dir}`);
    o.print(`  swarmkeeper --etcd-endpoints ${mgmt.clientUrl} status ${DEMO_CLUSTER}`);
    o.print(`  take it down with: swarmkeeper demo --down ${dir}`);
    return;
  }
  if (mgmt) await step('stopping the management etcd', () => mgmt.stop());
  await step('removing the demo directory', async () => rmSync(dir, { recursive: true, force: true }));
  o.print('Nothing left running.');
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
