// Swarm services whose tasks really run on a local cluster: busybox containers that
// sleep, with no network attachment (the local nodes' dockerds run `--bridge none`, and
// a service with no networks and no published ports needs neither a bridge nor the
// ingress network), a short stop so drains are quick, replicated or global, with
// placement constraints when asked.
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { SwarmkeeperError } from '../errors.ts';
import type { DockerEndpoint } from '../swarm/docker-endpoint.ts';
import { toSwarmError } from '../swarm/docker-errors.ts';

export interface WorkloadService {
  readonly name: string;
  readonly image: string;
  /** A replicated service of this many tasks; without it the service is global (one task per node). */
  readonly replicas?: number;
  /** Swarm placement constraints, e.g. `node.role==worker`, `node.labels.x==y`. */
  readonly constraints?: readonly string[];
  /**
   * At most this many tasks per node (swarm's max-replicas-per-node). Swarm stops a
   * drained node's tasks before their replacements start and never rebalances, so a
   * drain costs a service as many replicas as the node held: 1 bounds that cost.
   */
  readonly maxPerNode?: number;
}

/** Sleeps until stopped; the trap makes SIGTERM end it within a second (busybox sleep as PID 1 ignores it). */
export const SLEEPER_COMMAND = ['sh', '-c', 'trap "exit 0" TERM INT; while :; do sleep 1; done'];

export function dockerOf(endpoint: DockerEndpoint, timeoutMs = 10_000): Docker {
  if ('socketPath' in endpoint) return new Docker({ socketPath: endpoint.socketPath, timeout: timeoutMs });
  return new Docker({
    protocol: 'https',
    host: endpoint.host,
    port: endpoint.port,
    ca: endpoint.ca,
    cert: endpoint.cert,
    key: endpoint.key,
    timeout: timeoutMs,
  });
}

/** The Engine API service spec of `s`. */
export function serviceSpec(s: WorkloadService): Record<string, unknown> {
  if (s.replicas !== undefined && (!Number.isInteger(s.replicas) || s.replicas < 0)) {
    throw new SwarmkeeperError('Usage', `service ${s.name}: replicas must be a whole number >= 0, got ${s.replicas}`);
  }
  return {
    Name: s.name,
    Labels: { 'swarmkeeper.workload': 'sample' },
    TaskTemplate: {
      ContainerSpec: { Image: s.image, Command: SLEEPER_COMMAND, StopGracePeriod: 5_000_000_000 },
      RestartPolicy: { Condition: 'any', Delay: 200_000_000 },
      ...(s.constraints?.length || s.maxPerNode
        ? {
            Placement: {
              ...(s.constraints?.length ? { Constraints: [...s.constraints] } : {}),
              ...(s.maxPerNode ? { MaxReplicas: s.maxPerNode } : {}),
            },
          }
        : {}),
    },
    Mode: s.replicas === undefined ? { Global: {} } : { Replicated: { Replicas: s.replicas } },
  };
}

/**
 * Creates the service through a manager; returns its id. Engine errors keep their
 * meaning: a manager still joining its raft answers Unavailable ("not a swarm manager"),
 * a name already taken Conflict.
 */
export async function createService(manager: Docker, s: WorkloadService): Promise<string> {
  let created: { id?: string; ID?: string };
  try {
    created = (await manager.createService(serviceSpec(s) as Docker.CreateServiceOptions)) as { id?: string; ID?: string };
  } catch (err) {
    throw toSwarmError(`creating service ${s.name}`, err);
  }
  const id = created.id ?? created.ID;
  if (!id) throw new SwarmkeeperError('Internal', `creating service ${s.name}: the engine returned no service id`);
  return id;
}

export interface ServiceTasks {
  readonly service: string;
  /** Replicas asked for; undefined for a global service. */
  readonly replicas?: number;
  /** Tasks swarm wants running that are running. */
  readonly running: number;
  /** Tasks swarm wants running that are not running yet, with the scheduler's last word. */
  readonly waiting: readonly { readonly state: string; readonly message: string }[];
}

/** Every service's tasks as one manager sees them (two API calls). */
export async function listServiceTasks(manager: Docker): Promise<ServiceTasks[]> {
  const [services, tasks] = await Promise.all([manager.listServices(), manager.listTasks({ filters: { 'desired-state': ['running'] } })]);
  return services.map((svc) => {
    const mine = tasks.filter((t) => t.ServiceID === svc.ID);
    const replicas = svc.Spec?.Mode?.Replicated?.Replicas;
    return {
      service: svc.Spec?.Name ?? svc.ID ?? '',
      ...(replicas === undefined ? {} : { replicas }),
      running: mine.filter((t) => t.Status?.State === 'running').length,
      waiting: mine
        .filter((t) => t.Status?.State !== 'running')
        .map((t) => ({ state: t.Status?.State ?? 'unknown', message: t.Status?.Err ?? t.Status?.Message ?? '' })),
    };
  });
}

/** Resolves once every replicated service named has all its replicas running. */
export async function waitServicesRunning(manager: Docker, names: readonly string[], timeoutMs: number): Promise<ServiceTasks[]> {
  const deadline = Date.now() + timeoutMs;
  let last: ServiceTasks[] = [];
  for (;;) {
    try {
      last = (await listServiceTasks(manager)).filter((s) => names.includes(s.service));
      const done = names.every((n) =>
        last.some((s) => s.service === n && (s.replicas === undefined ? s.waiting.length === 0 && s.running > 0 : s.running >= s.replicas)),
      );
      if (done) return last;
    } catch {
      // the manager may be busy electing a leader: ask again
    }
    if (Date.now() > deadline) {
      const seen = last
        .map(
          (s) => `${s.service} ${s.running}/${s.replicas ?? '*'}${s.waiting[0] ? ` (${s.waiting[0].state}: ${s.waiting[0].message})` : ''}`,
        )
        .join(', ');
      throw new SwarmkeeperError(
        'Unavailable',
        `services ${names.join(', ')} not all running after ${timeoutMs} ms: ${seen || 'none listed'}`,
      );
    }
    await sleep(200);
  }
}
