// swarmkeeper's side of bench/converge-ec2.ts, set up exactly as the EC2 end-to-end test
// sets it up: the controller container from the management image (bootstrap exchange
// over HTTPS with a private CA, management etcd with TLS and a password, mutual TLS to
// the managers' docker API), the node fleet booting every instance it launches into moto
// from its own user-data. Timed from the spec's apply to the status saying Ready with
// every node healthy (the e2e's convergence test), with each node's phases read from its
// journal and the status, and the controller's and agents' log lines for a trace.
import { EtcdClusterStore } from '../src/store/etcd-store.ts';
import { getCondition } from '../src/spec/conditions.ts';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runControllerContainer, type ControllerContainer, type E2eWorld } from '../test/support/ec2-e2e-world.ts';
import { runEc2NodeFleet, type Ec2NodeFleet, type FleetNode } from '../test/support/ec2-node-fleet.ts';
import type { Role } from '../src/spec/schema.ts';
import type { PublishedImage } from '../test/support/management-image.ts';
import { controllerLeads } from '../test/support/https-get.ts';
import { aSwarmCluster } from '../test/support/spec-fixtures.ts';
import { until } from '../test/support/until.ts';
import { fleetProblem } from './ec2-node-script.ts';
import { describeLogLine, readNodeJournal, summarisePhase, type NodeJournal, type PhaseSummary } from './ec2-node-timeline.ts';

export interface Ec2SwarmkeeperOptions {
  readonly managers: 1 | 3 | 5 | 7;
  readonly workers: number;
  readonly image: PublishedImage;
}

export interface TraceLine {
  /** ms from the apply */
  readonly at: number;
  readonly text: string;
}

export interface Ec2SwarmkeeperResult {
  readonly totalMs: number;
  /** ms from the apply; per-node phases as {all, median}. */
  readonly phases: Record<string, number | PhaseSummary | undefined>;
  /** Docker restarts per node after its first start (the managers' restart once their TLS certificate is written). */
  readonly dockerRestarts: number[];
  readonly trace: TraceLine[];
}

const NODE_UNITS = ['swarmkeeper-node-env.service', 'docker.service', 'swarmkeeper-bootstrap.service', 'swarmkeeper-docker-tls.service'];

export async function runEc2Swarmkeeper(world: E2eWorld, cluster: string, opts: Ec2SwarmkeeperOptions): Promise<Ec2SwarmkeeperResult> {
  const controller = await runControllerContainer(world, opts.image.local, opts.image.remote);
  const caFile = world.bootstrap?.caFile ?? '';
  // As bench/converge.ts: the clock starts with a leading controller, not with its start.
  await until('the controller container to lead', async () => (await controllerLeads(controller.baseUrl, caFile)) === true, {
    timeoutMs: 120_000,
    intervalMs: 250,
  });
  const fleet = runEc2NodeFleet({ endpoint: world.moto.endpoint, region: world.ec2.region, cluster });
  world.fleet = fleet;
  try {
    return await timeConvergence(world, cluster, opts, fleet);
  } finally {
    // Nothing of this side keeps running while the other side is timed.
    await fleet.stop();
    world.fleet = undefined;
    const log = await world.dockerOutput(['logs', 'swarmkeeper-controller']).catch(() => '');
    if (log) writeFileSync(join(tmpdir(), `sk-bench-ec2-controller-${process.pid}.log`), log);
    await world.docker(['rm', '-f', 'swarmkeeper-controller']).catch(() => undefined);
  }
}

/** From the apply to Ready with every node healthy; the phases read from the nodes before they go. */
async function timeConvergence(
  world: E2eWorld,
  cluster: string,
  opts: Ec2SwarmkeeperOptions,
  fleet: Ec2NodeFleet,
): Promise<Ec2SwarmkeeperResult> {
  const controller = world.controller as ControllerContainer;
  const store = new EtcdClusterStore(world.client, { prefix: world.prefix, ownsClient: false });
  const joinedAt = new Map<string, number>();
  const roles = new Map<string, Role>();
  const t0 = Date.now();
  await store.apply(
    aSwarmCluster({
      name: cluster,
      spec: {
        managers: { count: opts.managers },
        workers: { count: opts.workers },
        provider: { ec2: world.ec2 },
        healing: { unhealthyAfterSeconds: 10, nodeStartupTimeoutSeconds: 600, minHealthySeconds: 0 },
      },
    }),
  );
  const outcome = await until<{ at: number } | { fatal: string }>(
    `${cluster} converged to ${opts.managers}+${opts.workers}`,
    async () => {
      const problem = fleetProblem(fleet);
      if (problem) return { fatal: problem };
      if (!(await controller.running())) return { fatal: `the controller container exited:\n${await controller.logs()}` };
      const stored = await store.get(cluster);
      const s = stored?.status;
      for (const n of s?.nodes ?? []) {
        if (n.role) roles.set(n.instanceId, n.role);
        if (n.healthy && !joinedAt.has(n.instanceId)) joinedAt.set(n.instanceId, Date.now());
      }
      if (!s || s.observedGeneration !== stored?.cluster.metadata.generation) return undefined;
      const ready = getCondition(s.conditions, 'Ready')?.status === 'True';
      const all = opts.managers + opts.workers;
      const ok = ready && s.managers?.ready === opts.managers && s.workers?.ready === opts.workers && (s.nodes ?? []).length === all;
      return ok && { at: Date.now() };
    },
    { timeoutMs: 900_000, intervalMs: 250 },
  );
  if ('fatal' in outcome) throw new Error(outcome.fatal);
  const nodes = [...fleet.nodes.values()];
  const journals = await Promise.all(nodes.map((n) => readNodeJournal(n.node.root, NODE_UNITS)));
  const controllerLog = await world.dockerOutput(['logs', 'swarmkeeper-controller']).catch(() => '');
  return {
    totalMs: outcome.at - t0,
    phases: phasesOf(
      nodes.map((n, i) => ({
        fleet: n,
        journal: journals[i] as NodeJournal,
        role: roles.get(n.instanceId),
        joinedAt: joinedAt.get(n.instanceId),
      })),
      t0,
    ),
    dockerRestarts: journals.map((j) => Math.max(0, j.starts('docker.service').length - 1)),
    trace: traceLines(
      t0,
      outcome.at,
      controllerLog,
      nodes.map((n, i) => ({ name: n.address, journal: journals[i] })),
    ),
  };
}

interface NodeRecord {
  readonly fleet: FleetNode;
  readonly journal: NodeJournal;
  readonly role: Role | undefined;
  /** First time the status showed the node healthy. */
  readonly joinedAt: number | undefined;
}

/** Per-node phases over all nodes, then per role where the roles' paths differ (workers are launched later). */
function phasesOf(nodes: readonly NodeRecord[], t0: number): Ec2SwarmkeeperResult['phases'] {
  const phase = (of: readonly NodeRecord[], pick: (n: NodeRecord) => number | undefined): PhaseSummary | undefined =>
    summarisePhase(of.map(pick), t0);
  const managers = nodes.filter((n) => n.role === 'manager');
  const workers = nodes.filter((n) => n.role === 'worker');
  // The bootstrap unit counts as started once its ExecStartPre pulled the image.
  const pulled = (n: NodeRecord): number | undefined => n.journal.starts('swarmkeeper-bootstrap.service')[0];
  return {
    instanceRunning: phase(nodes, (n) => n.fleet.seenAt),
    nodeBooted: phase(nodes, (n) => n.fleet.bootedAt),
    dockerUp: phase(nodes, (n) => n.journal.starts('docker.service')[0]),
    imagePulledAgentStarted: phase(nodes, pulled),
    agentStarting: phase(nodes, (n) => firstAgentLine(n.journal, 'Starting node agent')),
    nodeSaysJoined: phase(nodes, (n) => firstAgentLine(n.journal, 'Node joined')),
    healthyInStatus: phase(nodes, (n) => n.joinedAt),
    managersImagePulled: phase(managers, pulled),
    // docker restarted to serve the certificate the exchange brought.
    managersDockerRestartedForTls: phase(managers, (n) => n.journal.starts('docker.service')[1]),
    managersHealthyInStatus: phase(managers, (n) => n.joinedAt),
    workersRunning: phase(workers, (n) => n.fleet.seenAt),
    workersImagePulled: phase(workers, pulled),
    workersHealthyInStatus: phase(workers, (n) => n.joinedAt),
  };
}

/** When the node agent first logged a message starting with `prefix`. */
function firstAgentLine(journal: NodeJournal, prefix: string): number | undefined {
  return journal.lines.find((l) => l.unit === 'swarmkeeper-bootstrap.service' && describeLogLine(l.message).startsWith(prefix))?.at;
}

/** docker pull's per-layer progress: noise in a timeline (its Digest and Status lines stay). */
const PULL_PROGRESS = /^[0-9a-f]{12}: (Pulling fs layer|Waiting|Verifying Checksum|Download complete|Pull complete|Already exists)$/;

/** Controller log lines, node unit starts and agent lines on one clock (ms from the apply). */
function traceLines(
  t0: number,
  until: number,
  controllerLog: string,
  nodes: { name: string; journal: NodeJournal | undefined }[],
): TraceLine[] {
  const lines: TraceLine[] = [];
  for (const raw of controllerLog.split('\n')) {
    if (!raw.startsWith('{')) continue;
    const time = (JSON.parse(raw) as { time?: number }).time;
    if (time !== undefined && time >= t0 && time <= until) lines.push({ at: time - t0, text: `controller ${describeLogLine(raw)}` });
  }
  for (const { name, journal } of nodes) {
    for (const unit of NODE_UNITS)
      for (const at of journal?.starts(unit) ?? []) if (at <= until) lines.push({ at: at - t0, text: `${name} started ${unit}` });
    for (const l of journal?.lines ?? [])
      if (l.unit === 'swarmkeeper-bootstrap.service' && l.at <= until && !PULL_PROGRESS.test(l.message))
        lines.push({ at: l.at - t0, text: `${name} ${describeLogLine(l.message)}` });
  }
  return lines.sort((a, b) => a.at - b.at);
}
