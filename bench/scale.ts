// The production controller in the simulator at scale: the reconcile cycle as shipped
// (observe, detectors, plan, act with precondition re-checks, journal, fenced status
// write) against SimWorld on a virtual clock (test/unit/harness/sim-controller.ts).
//   1. from nothing to 5 managers + 1,000 workers;
//   2. from there to 10,000 nodes, then a steady state of 10,000 nodes.
// Prints, per phase: time per cycle (median, p95, max) as wall time and as the
// controller's CPU time (the cycle's CPU minus what the simulated world spent moving
// along: agents booting, rafts electing; the simulated peers' answers stay counted as
// the controller's), provider calls per cycle and per executed step; and memory: the
// process's peak RSS (an upper bound: the simulated world of 10,000 instances, the
// in-memory management store and tsx's compiler share the process), the controller's
// heap per cycle (peak during a cycle above the heap at rest before it), and, per
// configuration (local, ec2, ec2 with S3 backups, Kubernetes source), the RSS of the
// shipped program (dist/) with the modules that configuration loads (shipped-rss.ts):
// the controller at 10,000 nodes is that RSS plus its heap per cycle.
// Targets: at most one list call per 1,000 instances per cycle, also while converging
// (the sim lists a cluster in one call; EC2 pages 1,000 instances per DescribeInstances
// call, so a cycle that lists once stays within the target); a 10,000-node cycle under
// 200 ms; RSS under 200 MB.
//   node --max-semi-space-size=2 --expose-gc --import tsx bench/scale.ts   (the V8 flag
//   the image runs the controller with, manifests/Dockerfile; SCALE_STEADY_CYCLES=N, default 20;
//   npx tsx bench/scale.ts works too, without the heap-at-rest figure)
import { plan } from '../src/plan/plan.ts';
import { checkPrecondition } from '../src/plan/preconditions.ts';
import { MemoryMarkStore } from '../src/store/memory-mark-store.ts';
import type { CycleResult } from '../src/controller/reconcile.ts';
import { SimWorld } from '../src/providers/sim/index.ts';
import { API_VERSION, KIND, type SwarmClusterSpec } from '../src/spec/schema.ts';
import { MemoryFencedKv } from '../src/store/memory-kv.ts';
import { MemoryClusterStore } from '../src/store/memory-store.ts';
import { PREFIX, requeueAfterMs, SimController, type PortCall } from '../test/unit/harness/sim-controller.ts';
import { VirtualTime } from '../test/unit/harness/virtual-time.ts';
import { measureShippedRss } from './shipped-rss.ts';

const CLUSTER = 'scale';
const STEADY_CYCLES = Number(process.env.SCALE_STEADY_CYCLES ?? 20);
const ZONES = ['a', 'b', 'c'];

interface CycleSample {
  readonly ms: number;
  /** The controller's CPU ms: the cycle's CPU minus the simulated world's. */
  readonly cpuMs: number;
  /** Peak heap during the cycle above the heap before it (MB). */
  readonly heapMb: number;
  readonly lists: number;
  readonly launches: number;
  readonly terminates: number;
  readonly steps: number;
  readonly instances: number;
}

const world = new SimWorld({ seed: 11 });
const time = new VirtualTime(world);
time.measureSim = true;
const gc = (globalThis as { gc?: () => void }).gc;
let heapPeak = 0;
time.onHop = () => {
  heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
};
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
  gc?.();
  const heapAtRest = process.memoryUsage().heapUsed;
  heapPeak = heapAtRest;
  const sim0 = time.simCpuMs;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  void controller
    .cycle(CLUSTER)
    .then(
      (r) => (result = r),
      (err: unknown) => process.stderr.write(`cycle failed: ${(err as Error).message}\n`),
    )
    .finally(() => (settled = true));
  await time.settle(() => settled);
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const sample = {
    ms,
    cpuMs: (c.user + c.system) / 1000 - (time.simCpuMs - sim0),
    heapMb: (heapPeak - heapAtRest) / 1024 / 1024,
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
  const cpu = samples.map((s) => s.cpuMs);
  const working = samples.filter((s) => s.steps > 0);
  const steps = working.reduce((a, s) => a + s.steps, 0);
  const lists = samples.reduce((a, s) => a + s.lists, 0);
  const maxListsPer1000 = Math.max(...samples.map((s) => s.lists / Math.max(1, Math.ceil(s.instances / 1000))));
  process.stdout.write(
    [
      `${name}: ${samples.length} cycles (${working.length} ran steps, ${steps} steps), ${world.instances.size} instances`,
      `  wall per cycle: median ${quantile(ms, 0.5).toFixed(1)} ms, p95 ${quantile(ms, 0.95).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms`,
      `  controller CPU per cycle: median ${quantile(cpu, 0.5).toFixed(1)} ms, p95 ${quantile(cpu, 0.95).toFixed(1)} ms, max ${Math.max(...cpu).toFixed(1)} ms`,
      `  controller heap per cycle: median ${quantile(
        samples.map((x) => x.heapMb),
        0.5,
      ).toFixed(0)} MB, max ${Math.max(...samples.map((x) => x.heapMb)).toFixed(0)} MB`,
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
    reportShippedRss(Math.max(...steady.map((x) => x.heapMb)));
    const q = world.controllerQuorumLosses();
    process.stdout.write(`quorum lost by the controller: ${q.length === 0 ? 'never' : q.map((e) => e.detail).join('; ')}\n`);
  } finally {
    time.uninstall();
  }
}

await main();

/** The shipped controller per configuration against the 200 MB target, with the 10,000-node cycle's heap added. */
function reportShippedRss(cycleHeapMb: number): void {
  const lines = ['the shipped controller (dist/), per configuration, in a fresh process; target 200 MB:'];
  try {
    for (const r of measureShippedRss()) {
      const total = r.afterGcMb + Math.ceil(cycleHeapMb);
      lines.push(
        `  ${r.configuration.padEnd(18)} modules loaded and used once: ${r.rssMb} MB (${r.afterGcMb} MB after GC, peak ${r.peakMb} MB);` +
          ` + 10,000-node cycle heap ${Math.ceil(cycleHeapMb)} MB = ${total} MB: ${total < 200 ? 'met' : 'NOT met'}`,
      );
    }
  } catch (err) {
    lines.push(`  unknown (${(err as Error).message.split('\n')[0] ?? ''}; build dist/ first)`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
