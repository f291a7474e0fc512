// The demo's sample service: an image registry on a loopback address (Debian
// docker-registry, storage in the demo's directory), the busybox image made on this
// machine pushed to it, and `web` (6 replicas) deployed once the cluster exists. Its
// running replicas are sampled every 100 ms through the stages, so each stage can say
// "web 6/6 running; lowest 5/6". Local provider only: the sim has no containers.
// Without docker-registry or a static busybox the demo runs without a service and says
// what to install.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { SwarmkeeperError, isSwarmkeeperError } from '../../errors.ts';
import { retrying } from '../../retry.ts';
import type { DockerEndpoint } from '../../swarm/docker-endpoint.ts';
import { findInPath } from '../../providers/local/preflight.ts';
import { DEFAULT_POOL_DIR, releaseLoopback, reserveLoopback } from '../../net/loopback-pool.ts';
import { sampleAvailability, type AvailabilitySampler, type ServiceAvailability } from '../../workload/availability.ts';
import { BUSYBOX_BINARY, canBuildBusyboxImage, pushBusyboxImage } from '../../workload/busybox-image.ts';
import { REGISTRY_BINARY, startRegistry, type RegistryProcess } from '../../workload/registry-process.ts';
import { createService, dockerOf, waitServicesRunning } from '../../workload/services.ts';
import { DEMO_MGMT_BLOCK } from './management-etcd.ts';

export const DEMO_SERVICE = 'web';
export const DEMO_REPLICAS = 6;

export interface DemoWorkload {
  readonly image: string;
  /** Creates the service through a manager and waits for every replica; starts sampling. */
  deploy(managers: () => Promise<readonly DockerEndpoint[]>, timeoutMs: number): Promise<ServiceAvailability>;
  /** The figures since the last call (one stage). */
  stage(): ServiceAvailability | undefined;
  stop(): Promise<void>;
}

/** What is missing for the sample service, one line each (empty: it can run). */
export function demoWorkloadProblems(): string[] {
  return [
    ...(findInPath(REGISTRY_BINARY, process.env.PATH ?? '')
      ? []
      : [`${REGISTRY_BINARY} was not found: install it with \`apt-get install docker-registry\``]),
    ...(existsSync(BUSYBOX_BINARY) && canBuildBusyboxImage()
      ? []
      : [`a static ${BUSYBOX_BINARY} is needed for the sample image: install it with \`apt-get install busybox-static\``]),
  ];
}

export async function startDemoWorkload(dir: string): Promise<DemoWorkload> {
  const address = reserveLoopback({ block: DEMO_MGMT_BLOCK });
  let registry: RegistryProcess | undefined;
  let sampler: AvailabilitySampler | undefined;
  try {
    registry = await startRegistry({ address, dir: join(dir, 'registry') });
    const { reference } = await pushBusyboxImage({ registryUrl: registry.url });
    const reg = registry;
    return {
      image: reference,
      async deploy(managers, timeoutMs) {
        const docker = await createThroughAManager(managers, reference, Math.min(timeoutMs, DEPLOY_RETRY_MS));
        const [running] = await waitServicesRunning(docker, [DEMO_SERVICE], timeoutMs);
        sampler = sampleAvailability({ managers });
        return { service: DEMO_SERVICE, replicas: DEMO_REPLICAS, lowest: running?.running ?? 0, latest: running?.running ?? 0 };
      },
      stage: () => sampler?.phase().services.find((s) => s.service === DEMO_SERVICE),
      async stop() {
        await sampler?.stop();
        await reg.stop();
        releaseLoopback(address, DEFAULT_POOL_DIR);
      },
    };
  } catch (err) {
    await registry?.stop();
    releaseLoopback(address, DEFAULT_POOL_DIR);
    throw err;
  }
}

/** How long the demo keeps asking managers to take the sample service. */
const DEPLOY_RETRY_MS = 60_000;

/**
 * Creates the sample service through the first manager that takes it. A manager promoted
 * a moment ago answers "not a swarm manager" until its raft has caught up (Unavailable):
 * the next try goes to the next manager. A Conflict means an earlier try created it and
 * only its answer was lost. Returns the client of the manager that took it.
 */
async function createThroughAManager(
  managers: () => Promise<readonly DockerEndpoint[]>,
  image: string,
  deadlineMs: number,
): Promise<Docker> {
  return retrying(
    async (attempt) => {
      const list = await managers();
      const endpoint = list[(attempt - 1) % Math.max(1, list.length)];
      if (!endpoint) throw new SwarmkeeperError('Unavailable', 'no manager to deploy the sample service through');
      const docker = dockerOf(endpoint, 30_000);
      try {
        await createService(docker, { name: DEMO_SERVICE, image, replicas: DEMO_REPLICAS });
      } catch (err) {
        if (!isSwarmkeeperError(err, 'Conflict')) throw err;
      }
      return docker;
    },
    { retryOn: ['Unavailable'], deadlineMs, initialMs: 500, maxMs: 3000 },
  );
}

/** "web 6/6 running; lowest 5/6 during the scale" */
export function serviceLine(s: ServiceAvailability, during: string): string {
  return `${s.service} ${s.latest}/${s.replicas} running; lowest ${s.lowest}/${s.replicas} ${during}`;
}
