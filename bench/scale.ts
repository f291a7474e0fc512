// The production controller in the simulator at scale: the reconcile cycle as shipped
// (observe, detectors, plan, act with precondition re-checks, journal, fenced status
// write) against SimWorld on a virtual clock (test/unit/harness/sim-controller.ts).
//   1. from nothing to 5 managers + 1,000 workers;
//   2. from there to 10,000 nodes, then a steady state of 10,000 nodes.
// Prints, per phase: wall time per cycle (median, p95, max), provider calls per cycle and
// per executed step, and the process's peak RSS (controller and simulated world share
// the process, so it is an upper bound on the controller's own).
// Targets: at most one list call per 1,000 instances per cycle, also while converging
// (the sim lists a cluster in one call; EC2 pages 1,000 instances per DescribeInstances
// call, so a cycle that lists once stays within the target); a 10,000-node cycle under
// 200 ms; RSS under 200 MB.
//   npx tsx bench/scale.ts           (SCALE_STEADY_CYCLES=N, default 20)
import { plan } from '../src/plan/plan.ts';
import { checkPrecondition } from '../src/plan/preconditions.ts';
import { MemoryMarkStore } from '../src/heal/memory-mark-store.ts';
import type { CycleResult } from '../src/controller/reconcile.ts';
import { SimWorld } from '../src/providers/sim/index.ts';
import { API_VERSION, KIND, type SwarmClusterSpec } from '../src/spec/schema.ts';
import { MemoryFencedKv } from '../src/store/memory-kv.ts';
import { MemoryClusterStore } from '../src/store/memory-store.ts';
import { PREFIX, requeueAfterMs, SimController, type PortCall } from '../test/unit/harness/sim-controller.ts';
import { VirtualTime } from '../test/unit/harness/virtual-time.ts';

const CLUSTER = 'scale';
const STEADY_CYCLES = Number(process.env.SCALE_STEADY_CYCLES ?? 20);
const ZONES = ['a', 'b', 'c'];

interface CycleSample {
  readonly ms: number;
  readonly lists: number;
  readonly launches: number;
  readonly terminates: number;
  readonly steps: number;
  readonly instances: number;
}

const world = new SimWorld({ seed: 11 });
const time = new VirtualTime(world);
const kv = new MemoryFencedKv();
const store = new MemoryClusterStore(kv, PREFIX, Date.now);
const calls = { list: 0, launch: 0, terminate: 0 };
let peakRss = 0;

const controller = new SimController({
  world,
  kv,
  store,
  marks: new MemoryMarkStore(),
  identity: 'bench',
  plan,
  checkPrecondition,
  onCall: (call: PortCall) => {
    if (call.port === 'provider') calls[call.method as keyof typeof calls] += 1;
  },
});

async function apply(workers: number): Promise<void> {
  const spec: SwarmClusterSpec = { managers: { count: 5 }, workers: { count: workers }, provider: { sim: { seed: 11, zones: ZONES } } };
  await store.apply({ apiVersion: API_VERSION, kind: KIND, metadata: { name: CLUSTER }, spec });
}

async function cycle(): Promise<{ sample: CycleSample; result: CycleResult | undefined }> {
  const before = { ...calls };
  let result: CycleResult | undefined;
  let settled = false;
  const t0 = performance.now();
  void controller
    .cycle(CLUSTER)
    .then((r) => (result = r), (err: unknown) => process.stderr.write(`cycle failed: ${(err as Error).message}\n`))
    .finally(() => (settled = true));
  await time.settle(() => settled);
  const ms = performance.now() - t0;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const sample = {
    ms,
    lists: calls.list - before.list,
    launches: calls.launch - before.launch,
    terminates: calls.terminate - before.terminate,
    steps: result?.executed ?? 0,
    instances: world.instances.size,
  };
  await time.pass(requeueAfterMs(result, 5_000));
  return { sample, result };
}

async function converge(maxCycles: number): Promise<CycleSample[]> {
  const samples: CycleSample[] = [];
  for (let i = 0; i < maxCycles; i++) {
    const { sample, result } = await cycle();
    samples.push(sample);
    if (result?.converged) return samples;
  }
  throw new Error(`not converged after ${maxCycles} cycles`);
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
}

function report(name: string, samples: CycleSample[]): void {
  const ms = samples.map((s) => s.ms);
  const working = samples.filter((s) => s.steps > 0);
  const steps = working.reduce((a, s) => a + s.steps, 0);
  const lists = samples.reduce((a, s) => a + s.lists, 0);
  const maxListsPer1000 = Math.max(...samples.map((s) => s.lists / Math.max(1, Math.ceil(s.instances / 1000))));
  process.stdout.write(
    [
      `${name}: ${samples.length} cycles (${working.length} ran steps, ${steps} steps), ${world.instances.size} instances`,
      `  wall per cycle: median ${quantile(ms, 0.5).toFixed(1)} ms, p95 ${quantile(ms, 0.95).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms`,
      `  provider calls per cycle: list mean ${(lists / samples.length).toFixed(2)} max ${Math.max(...samples.map((s) => s.lists))}; max list calls per 1,000 instances in one cycle ${maxListsPer1000.toFixed(2)}`,
      `  while converging, per executed step: list ${working.length ? (working.reduce((a, s) => a + s.lists, 0) / Math.max(1, steps)).toFixed(3) : '-'}, launch ${(working.reduce((a, s) => a + s.launches, 0) / Math.max(1, steps)).toFixed(3)}, terminate ${(working.reduce((a, s) => a + s.terminates, 0) / Math.max(1, steps)).toFixed(3)}`,
      `  peak RSS so far ${(peakRss / 1024 / 1024).toFixed(0)} MB`,
      '',
    ].join('\n'),
  );
}

async function main(): Promise<void> {
  try {
    await apply(1_000);
    report('nothing -> 5 managers + 1,000 workers', await converge(2_000));
    await apply(9_995);
    report('1,005 -> 10,000 nodes', await converge(4_000));
    const steady: CycleSample[] = [];
    for (let i = 0; i < STEADY_CYCLES; i++) steady.push((await cycle()).sample);
    report('10,000-node steady state', steady);
    const q = world.controllerQuorumLosses();
    process.stdout.write(`quorum lost by the controller: ${q.length === 0 ? 'never' : q.map((e) => e.detail).join('; ')}\n`);
  } finally {
    time.uninstall();
  }
}

await main();
