// The demo's three stages, run against a started controller: create the cluster, scale
// its workers, kill a manager and watch it heal. Each stage applies its change, waits for
// the status to reach its goal, prints the node table and its time, and adds a line to
// the summary (with the sample service's lowest replica count when there is one).
import { SwarmkeeperError } from '../../errors.ts';
import type { SwarmClusterStatus } from '../../spec/schema.ts';
import type { EtcdClusterStore } from '../../store/etcd-store.ts';
import type { ServiceAvailability } from '../../workload/availability.ts';
import { nodeTableLines } from '../node-table.ts';
import type { DemoBackend } from './demo-backends.ts';
import { convergedOn, type DemoProgress, type Print, type StatusGoal } from './demo-progress.ts';
import { DEMO_CLUSTER, demoCluster } from './demo-spec.ts';
import { serviceLine, type DemoWorkload } from './demo-workload.ts';

export interface DemoStageSummary {
  readonly stage: string;
  readonly seconds: number;
  readonly phase: string;
  readonly service?: ServiceAvailability;
}

/** The demo's options the stages read. */
export interface StageOptions {
  readonly workers: number;
  readonly scaleWorkersTo: number;
  /** Per stage. */
  readonly timeoutMs: number;
  readonly print: Print;
  readonly signal: AbortSignal;
}

/** What every stage works with. */
export interface StageContext {
  readonly o: StageOptions;
  readonly store: EtcdClusterStore;
  readonly backend: DemoBackend;
  readonly progress: DemoProgress;
  readonly workload?: DemoWorkload;
  /** Each stage adds its line here; the self-heal stage its quorum lines too. */
  readonly stages: DemoStageSummary[];
  readonly quorum: string[];
}

export async function runStages(ctx: StageContext): Promise<void> {
  const { o, store, backend } = ctx;
  await runStage(ctx, `1/3 Creating cluster ${DEMO_CLUSTER}: 3 managers, ${o.workers} workers`, convergedOn(3, o.workers), async () => {
    await store.apply(demoCluster({ workers: o.workers, provider: backend.providerSpec }));
  });
  if (ctx.workload) await deployService(ctx, ctx.workload);
  await runStage(
    ctx,
    `2/3 Scaling workers ${o.workers} -> ${o.scaleWorkersTo}`,
    convergedOn(3, o.scaleWorkersTo),
    async () => {
      await store.apply(demoCluster({ workers: o.scaleWorkersTo, provider: backend.providerSpec }));
    },
    o.scaleWorkersTo < o.workers ? 'during the drain' : 'during the scale',
  );
  await selfHealStage(ctx);
}

/** `during`: the sample service's lowest replica count is reported as seen during this. */
async function runStage(ctx: StageContext, title: string, goal: StatusGoal, act: () => Promise<void>, during?: string): Promise<void> {
  const { o, progress, workload } = ctx;
  o.print(`\n== ${title}`);
  progress.startStage();
  workload?.stage();
  await act();
  await progress.waitFor(goal, title, o.timeoutMs, o.signal);
  o.print(`\n${indented(nodeTableLines(progress.latest?.nodes ?? []))}`);
  const seconds = progress.elapsedSeconds();
  o.print(`  -> ${progress.latest?.phase ?? '?'} in ${seconds.toFixed(1)} s`);
  const service = during ? workload?.stage() : undefined;
  if (service && during) o.print(`  ${serviceLine(service, during)}`);
  ctx.stages.push({ stage: title, seconds: round1(seconds), phase: progress.latest?.phase ?? '?', ...(service ? { service } : {}) });
}

/** The sample service, created through the running managers. */
async function deployService(ctx: StageContext, w: DemoWorkload): Promise<void> {
  const { backend: b, o } = ctx;
  const managers = async () =>
    (await b.provider.list(DEMO_CLUSTER))
      .filter((i) => i.role === 'manager' && i.state === 'running')
      .map((i) => b.provider.dockerEndpoint(i));
  const deployed = await w.deploy(managers, o.timeoutMs);
  o.print(`  Deployed ${deployed.service} (${deployed.replicas} replicas of ${w.image}): ${deployed.latest}/${deployed.replicas} running`);
}

/** Kills a manager, shows it as the controller first sees it, waits for its replacement, and reports both rafts' quorum. */
async function selfHealStage(ctx: StageContext): Promise<void> {
  const { o, progress, backend: b } = ctx;
  const victim = pickVictim(progress.latest);
  const managerIds = (progress.latest?.nodes ?? []).filter((n) => n.role === 'manager').map((n) => n.instanceId);
  const sampler = b.sampleQuorum(DEMO_CLUSTER, managerIds, victim);
  await runStage(
    ctx,
    `3/3 Self-heal: killing manager ${victim}`,
    (s) => convergedOn(3, o.scaleWorkersTo)(s) && !(s.nodes ?? []).some((n) => n.instanceId === victim),
    async () => {
      o.print(`  ${await b.killManager(victim)}`);
      await showDeadManager(ctx, victim);
    },
    'during the self-heal',
  );
  for (const line of await sampler.stop()) {
    o.print(`  ${line}`);
    ctx.quorum.push(line);
  }
}

/** Shows the dead node as the controller first sees it, before it is replaced (not seeing it is no failure). */
async function showDeadManager(ctx: StageContext, victim: string): Promise<void> {
  const { o, progress } = ctx;
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
}

/** A healthy manager that leads neither raft when there is one (the leader works too; it adds an election). */
export function pickVictim(status: SwarmClusterStatus | undefined): string {
  const managers = (status?.nodes ?? []).filter((n) => n.role === 'manager');
  const follower = [...managers].reverse().find((n) => n.healthy && n.etcdMembership === 'voter');
  const victim = follower ?? managers.at(-1);
  if (!victim) throw new SwarmkeeperError('Internal', 'no manager to kill');
  return victim.instanceId;
}

export function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

function indented(lines: readonly string[]): string {
  return lines.map((l) => `  ${l}`).join('\n');
}
