// Convergence benchmark on the EC2 path: from nothing to 3 managers + 2 workers (the
// full EC2 end-to-end test's shape) with swarmkeeper, against a hand-scripted baseline
// on the same kind of node, both in one world per run (test/support/ec2-e2e-world.ts:
// moto with loopback subnets, a registry on loopback holding the management image, a
// management etcd with TLS and a password, nodes booted under systemd-nspawn by the
// real Ignition from the user-data moto holds, the IMDSv2 stand-in on loopback).
//
//   npx tsx bench/converge-ec2.ts [--runs N] [--managers 3] [--workers 2] [--trace] [--skip-baseline]
//
// baseline (converge-ec2-baseline.ts): RunInstances of the same instances from a
//   user-data that only brings docker up as swarmkeeper's nodes do, then by script a
//   static etcd cluster from the management image, swarm init and joins, etcd gateways;
//   timed from RunInstances to every node joined and etcd healthy.
// swarmkeeper (converge-ec2-swarmkeeper.ts): the controller container as the e2e runs
//   it, timed from the spec's apply to Ready with every node healthy.
// Printed: both times, the ratio, each side's phases (ms from its start; per-node phases
// as the time every node got there and the median node's), and the machine's load
// (`uptime`) at the start and end of each run: wall times on a shared machine mean
// little without it. --trace prints swarmkeeper's timeline (controller steps, node
// units, agent lines) to stderr. Needs root and `npm run image` (built if missing).
//
// Each node pulls the image from the registry into its own empty docker, on both sides.
import { execFileSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { startE2eWorld, type E2eWorld } from '../test/support/ec2-e2e-world.ts';
import { publishManagementImage } from '../test/support/management-image.ts';
import { useTestCredentials } from '../test/support/ec2-fixtures.ts';
import { loadOrCreateDockerCa } from '../src/providers/ec2/docker-ca.ts';
import { DOCKER_CA_SECRET, etcdCreateOnceSecret } from '../src/store/create-once-secret.ts';
import { runEc2Baseline, type Ec2BaselineResult } from './converge-ec2-baseline.ts';
import { spanBetween } from './ec2-node-timeline.ts';
import { runEc2Swarmkeeper, type Ec2SwarmkeeperResult } from './converge-ec2-swarmkeeper.ts';

useTestCredentials();

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1' },
    managers: { type: 'string', default: '3' },
    workers: { type: 'string', default: '2' },
    trace: { type: 'boolean', default: false },
    'skip-baseline': { type: 'boolean', default: false },
  },
});
const runs = positive('runs', values.runs);
const managers = positive('managers', values.managers) as 1 | 3 | 5 | 7;
const workers = Number(values.workers);
if (!Number.isInteger(workers) || workers < 0) usage(`--workers must be a whole number >= 0 (got ${values.workers})`);
if (![1, 3, 5, 7].includes(managers)) usage(`--managers must be 1, 3, 5 or 7 (got ${managers})`);

/** The cluster swarmkeeper manages (the world's docker CA is this cluster's); the baseline's instances carry another tag. */
const CLUSTER = 'road';
const BASELINE_CLUSTER = 'handmade';
const PREFIX = '/swarmkeeper';

interface RunFigures {
  order: string;
  baselineMs: number;
  swarmkeeperMs: number;
  ratio: number;
  baselinePhases: Ec2BaselineResult['phases'];
  swarmkeeperPhases: Ec2SwarmkeeperResult['phases'];
  /** 1-minute load average at the start and the end of each side's timing. */
  load1: { baseline: [number, number]; swarmkeeper: [number, number] };
  swarmkeeperDockerRestarts: number[];
  afterLastImagePulledMs: { baseline: number | undefined; swarmkeeperManagers: number | undefined };
  uptimeAtStart: string;
  uptimeAtEnd: string;
}

function positive(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) usage(`--${name} must be a whole number >= 1 (got ${v})`);
  return n;
}

function usage(message: string): never {
  process.stderr.write(`converge-ec2: ${message}\n`);
  process.exit(2);
}

function uptime(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}`;
  }
}

const load1 = (): number => Math.round((loadavg()[0] ?? 0) * 10) / 10;

async function withLoad<T>(side: () => Promise<T>): Promise<T & { load1: [number, number] }> {
  const atStart = load1();
  const result = await side();
  return { ...result, load1: [atStart, load1()] };
}

/** The world of the run under way: an interrupted bench stops it (nodes, peers, containers) before it exits. */
let current: E2eWorld | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`converge-ec2: ${signal}: stopping the run's world\n`);
    void (current?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

async function oneRun(r: number): Promise<RunFigures> {
  const uptimeAtStart = uptime();
  const world = await startE2eWorld(CLUSTER, PREFIX);
  current = world;
  try {
    const image = await publishManagementImage(world);
    const dockerCa = await loadOrCreateDockerCa(etcdCreateOnceSecret(world.client, PREFIX, CLUSTER, DOCKER_CA_SECRET), CLUSTER);
    const timeBaseline = async (): Promise<Ec2BaselineResult> =>
      values['skip-baseline']
        ? { totalMs: Number.NaN, phases: {} }
        : runEc2Baseline(world, { cluster: BASELINE_CLUSTER, managers, workers, image: image.remote, dockerCa });
    const timeSwarmkeeper = (): Promise<Ec2SwarmkeeperResult> => runEc2Swarmkeeper(world, CLUSTER, { managers, workers, image });
    // Odd runs time swarmkeeper first: neither side always meets a cold page cache or the other's leftovers.
    const baselineFirst = r % 2 === 0;
    const baseline = baselineFirst ? await withLoad(timeBaseline) : undefined;
    const sk = await withLoad(timeSwarmkeeper);
    const base = baseline ?? (await withLoad(timeBaseline));
    process.stderr.write(`run ${r + 1}: baseline ${base.totalMs} ms, swarmkeeper ${sk.totalMs} ms (${uptime()})\n`);
    if (values.trace) for (const l of sk.trace) process.stderr.write(`${String(Math.round(l.at)).padStart(7)} ms  ${l.text}\n`);
    const uptimeAtEnd = uptime();
    return {
      order: baselineFirst ? 'baseline first' : 'swarmkeeper first',
      baselineMs: base.totalMs,
      swarmkeeperMs: sk.totalMs,
      ratio: Math.round((sk.totalMs / base.totalMs) * 100) / 100,
      baselinePhases: base.phases,
      swarmkeeperPhases: sk.phases,
      load1: { baseline: base.load1, swarmkeeper: sk.load1 },
      swarmkeeperDockerRestarts: sk.dockerRestarts,
      // What load moves least: the orchestration once the image is on the nodes (swarmkeeper's
      // workers are left out: they are launched later, see workersRunning).
      afterLastImagePulledMs: {
        baseline: spanBetween(base.phases.imagePulled, base.phases.swarmReady),
        swarmkeeperManagers: spanBetween(sk.phases.managersImagePulled, sk.phases.managersHealthyInStatus),
      },
      uptimeAtStart,
      uptimeAtEnd,
    };
  } finally {
    current = undefined;
    await world.stop();
  }
}

const figures: RunFigures[] = [];
for (let r = 0; r < runs; r++) figures.push(await oneRun(r));
const ratios = figures.map((f) => f.ratio).filter((x) => Number.isFinite(x));
process.stdout.write(
  `${JSON.stringify(
    {
      shape: { managers, workers },
      runs: figures,
      meanRatio: ratios.length > 0 ? Math.round((ratios.reduce((s, x) => s + x, 0) / ratios.length) * 100) / 100 : null,
      cores: availableParallelism(),
    },
    null,
    2,
  )}\n`,
);
