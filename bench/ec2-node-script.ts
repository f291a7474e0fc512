// The hand-scripted baseline's verbs on nodes booted by the EC2 node fleet: docker
// commands through each node's own docker socket (what `ssh node docker …` does for an
// operator), reached from the host through the node's PID 1 (/proc/<pid>/root), and the
// checks that say the cluster is formed. Each step's end is marked per node.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Etcd3 } from 'etcd3';
import type { E2eWorld } from '../test/support/ec2-e2e-world.ts';
import type { Ec2NodeFleet, FleetNode } from '../test/support/ec2-node-fleet.ts';
import { until } from '../test/support/until.ts';

const run = promisify(execFile);
export const WAIT = { timeoutMs: 600_000, intervalMs: 200 };

/** Per node, when each step of its script ended (ms since epoch). */
export type NodeMarks = Partial<Record<'dockerUp' | 'pulled' | 'etcdStarted' | 'joined', number>>;

export interface NodeScript {
  docker(n: FleetNode, args: readonly string[]): Promise<string>;
  /** The node once the fleet booted it and its docker answers (polled, as a script would); once per node. */
  dockerUp(instanceId: string): Promise<FleetNode>;
  /** `docker pull` of the image on the node. */
  pull(n: FleetNode): Promise<void>;
  mark(instanceId: string, what: keyof NodeMarks): void;
}

export function nodeScript(fleet: Ec2NodeFleet, image: string, marks: Map<string, NodeMarks>): NodeScript {
  const mark = (id: string, what: keyof NodeMarks): void => {
    const m = marks.get(id);
    if (m) m[what] = Date.now();
  };
  const docker = async (n: FleetNode, args: readonly string[]): Promise<string> => {
    const pid = n.node.initPid();
    if (pid === undefined) throw new Error(`node ${n.instanceId} is not running`);
    return (await run('docker', ['-H', `unix:///proc/${pid}/root/run/docker.sock`, ...args], { timeout: 300_000 })).stdout;
  };
  const once = new Map<string, Promise<FleetNode>>();
  const dockerUp = (id: string): Promise<FleetNode> => {
    let p = once.get(id);
    if (!p) {
      p = (async () => {
        const n = await until(`instance ${id} booted by the fleet`, () => bootedOrFailed(fleet, id), WAIT);
        if (n instanceof Error) throw n;
        // A node that dies while docker comes up ends the run at once, not at the deadline.
        const answered = await until(
          `docker on ${id}`,
          async () => {
            const problem = fleetProblem(fleet);
            if (problem) return new Error(problem);
            return (await docker(n, ['version', '--format', '{{.Server.Version}}'])).trim() !== '';
          },
          WAIT,
        );
        if (answered instanceof Error) throw answered;
        mark(id, 'dockerUp');
        return n;
      })();
      once.set(id, p);
    }
    return p;
  };
  const pull = async (n: FleetNode): Promise<void> => {
    await docker(n, ['pull', '-q', image]);
    mark(n.instanceId, 'pulled');
  };
  return { docker, dockerUp, pull, mark };
}

/** Every member and gateway answers a linearizable read (a quorum of the members agreed). */
export async function waitEtcdHealthy(addresses: readonly string[], clients: Etcd3[]): Promise<number> {
  const probes = addresses.map((a) => {
    const c = new Etcd3({ hosts: `http://${a}:2379`, dialTimeout: 2000 });
    clients.push(c);
    return c;
  });
  await until(
    'every etcd member and gateway to answer a quorum read',
    async () => {
      const reads = probes.map((c) => Promise.race([c.get('baseline-probe').string(), timeout(2000)]).then(() => true));
      return (await Promise.all(reads)).every(Boolean);
    },
    WAIT,
  );
  return Date.now();
}

export async function waitSwarmReady(s: NodeScript, first: FleetNode, nodes: number, managers: number): Promise<number> {
  await until(
    'every swarm node ready and every manager reachable',
    async () => {
      const lines = (await s.docker(first, ['node', 'ls', '--format', '{{.Status}} {{.ManagerStatus}}'])).trim().split('\n');
      const ready = lines.filter((l) => l.startsWith('Ready'));
      const reachable = ready.filter((l) => / (Leader|Reachable)$/.test(l));
      return ready.length === nodes && reachable.length === managers;
    },
    WAIT,
  );
  return Date.now();
}

export async function checkManagerTls(world: E2eWorld, managers: readonly string[]): Promise<void> {
  const t = world.dockerTls;
  for (const m of managers) {
    await run('docker', ['--tlsverify', '--tlscacert', t.ca, '--tlscert', t.cert, '--tlskey', t.key, '-H', `tcp://${m}:2376`, 'version'], {
      timeout: 30_000,
    }).catch((err: unknown) => {
      throw new Error(`manager ${m} does not serve docker over mutual TLS: ${(err as Error).message.split('\n')[0]}`);
    });
  }
}

/** The fleet's node for `id`, or what went wrong with the fleet (which ends the run at once). */
function bootedOrFailed(fleet: Ec2NodeFleet, id: string): FleetNode | Error | undefined {
  const problem = fleetProblem(fleet);
  return problem ? new Error(problem) : fleet.nodes.get(id);
}

/** A booted node's systemd-nspawn gets its PID 1 going well within this, even on a loaded machine. */
const INIT_GRACE_MS = 15_000;

/**
 * The fleet's boot failures, or a node whose systemd-nspawn is gone (the fleet does not
 * watch its nodes after the boot: such a node would only be noticed at the cluster's
 * startup timeout, minutes later). Undefined while all is well.
 */
export function fleetProblem(fleet: Ec2NodeFleet): string | undefined {
  if (fleet.errors.length > 0) return `node fleet: ${fleet.errors.join('; ')}`;
  for (const n of fleet.nodes.values()) {
    if (n.node.initPid() === undefined && Date.now() - n.bootedAt > INIT_GRACE_MS) {
      const console = n.node.console().trim().split('\n').slice(-5).join('\n');
      return `node ${n.instanceId} (${n.address}) is not running; its console ends with:\n${console}`;
    }
  }
  return undefined;
}

function timeout(ms: number): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms).unref());
}
