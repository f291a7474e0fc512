// plan() on snapshots of 100, 1,000 and 10,000 nodes: steady state (converged), scale-out
// (the spec wants twice the workers) and mass replacement (every worker outdated, a 10%
// surge). Prints median and p95 per size and case, and the growth ratios
// 10k/1k vs 1k/100 (linear growth is 10x per step). Target: 10,000 nodes under 20 ms
// median, growth no worse than linear.
//   npx tsx bench/plan.ts            (BENCH_ITERATIONS=N to change the sample size)
import { plan } from '../src/plan/plan.ts';
import type { Snapshot } from '../src/model/snapshot.ts';
import type { ResolvedSpec } from '../src/spec/defaults.ts';
import { aManager, aSnapshot, aSpec, aWorker, NOW, type NodeFixture } from '../test/unit/builders.ts';

const SIZES = [100, 1_000, 10_000] as const;
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 30);
const ZONES = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'];
const MANAGERS = 5;

interface Case {
  readonly name: string;
  readonly build: (nodes: number) => { spec: ResolvedSpec; snapshot: Snapshot };
}

function cluster(nodes: number, opts: { outdated?: boolean } = {}): NodeFixture[] {
  const out: NodeFixture[] = [];
  for (let i = 0; i < MANAGERS; i++) out.push(aManager({ zone: ZONES[i % 3] }));
  for (let i = 0; i < nodes - MANAGERS; i++) out.push(aWorker({ zone: ZONES[i % 3], ...(opts.outdated ? { outdated: true } : {}) }));
  return out;
}

const specOf = (workers: number, maxSurge = 1): ResolvedSpec =>
  aSpec({
    managers: MANAGERS,
    workers,
    provider: { sim: { zones: ZONES } },
    rollout: { maxSurge, maxUnavailable: Math.max(1, Math.floor(maxSurge / 2)) },
  });

const CASES: Case[] = [
  {
    name: 'steady state',
    build: (n) => {
      const spec = specOf(n - MANAGERS);
      return { spec, snapshot: aSnapshot({ spec, nodes: cluster(n) }) };
    },
  },
  {
    name: 'scale-out x2',
    build: (n) => {
      const base = specOf(n - MANAGERS);
      return { spec: specOf(2 * n - MANAGERS), snapshot: aSnapshot({ spec: base, nodes: cluster(n) }) };
    },
  },
  {
    name: 'mass replacement',
    build: (n) => {
      const spec = specOf(n - MANAGERS, Math.max(1, Math.floor(n / 10)));
      return { spec, snapshot: aSnapshot({ spec, nodes: cluster(n, { outdated: true }) }) };
    },
  },
];

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

// The machine is shared (two cores, many test runs): wall-clock time there measures the
// neighbours as much as plan(). So each sample is a batch of runs long enough (>= 5 ms)
// for the process CPU-time clock (process.cpuUsage, µs) and counts only this process's
// CPU time per run; cells are measured interleaved, one batch of each per round, so
// drifting load falls on every size alike. The wall-clock median is printed beside it.
const cells = CASES.flatMap((c) =>
  SIZES.map((size) => ({ c, size, ...c.build(size), cpu: [] as number[], wall: [] as number[], steps: 0, batch: 1 })),
);
for (const cell of cells) {
  const t0 = performance.now();
  for (let i = 0; i < 5; i++) cell.steps = plan(cell.spec, cell.snapshot, { now: NOW }).steps.length;
  cell.batch = Math.max(1, Math.ceil(5 / Math.max(0.001, (performance.now() - t0) / 5)));
}
for (let round = 0; round < ITERATIONS; round++) {
  for (const cell of cells) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < cell.batch; i++) plan(cell.spec, cell.snapshot, { now: NOW });
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    cell.cpu.push((c.user + c.system) / 1000 / cell.batch);
    cell.wall.push(wall / cell.batch);
  }
}
const results = cells.map((cell) => {
  const cpu = [...cell.cpu].sort((a, b) => a - b);
  const wall = [...cell.wall].sort((a, b) => a - b);
  return {
    case: cell.c.name,
    size: cell.size,
    median: percentile(cpu, 50),
    p95: percentile(cpu, 95),
    wall: percentile(wall, 50),
    steps: cell.steps,
    batch: cell.batch,
  };
});

const pad = (s: string, n: number): string => s.padEnd(n);
process.stdout.write(`plan() benchmark, ${ITERATIONS} samples per cell, CPU ms per plan() call (node ${process.version})\n\n`);
process.stdout.write(
  `${pad('case', 18)}${pad('nodes', 8)}${pad('steps', 8)}${pad('median ms', 11)}${pad('p95 ms', 9)}${pad('wall median', 12)}\n`,
);
for (const r of results)
  process.stdout.write(
    `${pad(r.case, 18)}${pad(String(r.size), 8)}${pad(String(r.steps), 8)}${pad(r.median.toFixed(3), 11)}${pad(r.p95.toFixed(3), 9)}${pad(r.wall.toFixed(3), 12)}\n`,
  );
process.stdout.write('\ngrowth of the median (linear = 10.0x per step; per-node cost ratio 1.00 = linear):\n');
let fast = true;
let linear = true;
for (const c of CASES) {
  const m = (size: number): number => results.find((r) => r.case === c.name && r.size === size)?.median ?? Number.NaN;
  const small = m(1_000) / m(100);
  const large = m(10_000) / m(1_000);
  fast &&= m(10_000) < 20;
  linear &&= large <= 10;
  process.stdout.write(
    `  ${pad(c.name, 18)} 1k/100 ${small.toFixed(1)}x   10k/1k ${large.toFixed(1)}x (per node ${(large / 10).toFixed(2)})   10k median ${m(10_000).toFixed(2)} ms ${m(10_000) < 20 ? '< 20 ms' : '>= 20 ms (MISSED)'}\n`,
  );
}
process.stdout.write(
  `\n10,000 nodes under 20 ms median: ${fast ? 'met' : 'NOT met'}; growth 10k/1k no worse than linear (<= 10x): ${linear ? 'met' : 'NOT met'}\n`,
);

// Reference: what the machine's memory hierarchy alone does to per-element cost. A bare
// Map set+get over n string keys, 1k vs 10k; the planner is built on such maps.
function mapCostNs(n: number): number {
  const objs = Array.from({ length: n }, (_, i) => ({ id: `w${i + 1}` }));
  const once = (): number => {
    const m = new Map<string, { id: string }>();
    for (const o of objs) m.set(o.id, o);
    let hits = 0;
    for (const o of objs) if (m.get(o.id)) hits += 1;
    return hits;
  };
  for (let i = 0; i < 10; i++) once();
  const samples: number[] = [];
  for (let i = 0; i < 15; i++) {
    const c0 = process.cpuUsage();
    for (let k = 0; k < 10; k++) once();
    const c = process.cpuUsage(c0);
    samples.push(((c.user + c.system) * 1000) / 10 / n);
  }
  return percentile(
    samples.sort((a, b) => a - b),
    50,
  );
}
const m1k = mapCostNs(1_000);
const m10k = mapCostNs(10_000);
process.stdout.write(
  `reference: a bare Map set+get costs ${m1k.toFixed(0)} ns/key at 1k keys and ${m10k.toFixed(0)} ns/key at 10k (per-key ratio ${(m10k / m1k).toFixed(2)}) on this machine\n`,
);
