// Real workloads on a local-provider cluster the controller built: the busybox image from
// a loopback registry (registry.ts), services created through one of its managers, and
// the availability sampler (every 100 ms, through whichever manager answers) pointed at
// the cluster's current managers.
import type Docker from 'dockerode';
import type { LocalProvider } from '../../src/providers/local/local-provider.ts';
import type { DockerEndpoint } from '../../src/swarm/docker-endpoint.ts';
import { sampleAvailability, type AvailabilityReport, type AvailabilitySampler } from '../../src/workload/availability.ts';
import { createService, dockerOf, waitServicesRunning, type WorkloadService } from '../../src/workload/services.ts';

/** The docker endpoints of the cluster's running managers. */
export async function managerEndpoints(provider: LocalProvider, cluster: string): Promise<DockerEndpoint[]> {
  const managers = (await provider.list(cluster)).filter((i) => i.role === 'manager' && i.state === 'running');
  return managers.map((m) => provider.dockerEndpoint(m));
}

/** A client on a manager that answers as one. */
export async function aManager(provider: LocalProvider, cluster: string): Promise<Docker> {
  for (const endpoint of await managerEndpoints(provider, cluster)) {
    const docker = dockerOf(endpoint, 30_000);
    const info = (await docker.info().catch(() => undefined)) as { Swarm?: { ControlAvailable?: boolean } } | undefined;
    if (info?.Swarm?.ControlAvailable) return docker;
  }
  throw new Error(`no manager of ${cluster} answers as a swarm manager`);
}

/** Creates the services and waits until every replica runs. */
export async function deployServices(
  provider: LocalProvider,
  cluster: string,
  services: readonly WorkloadService[],
  timeoutMs = 120_000,
): Promise<void> {
  const manager = await aManager(provider, cluster);
  for (const s of services) await createService(manager, s);
  await waitServicesRunning(
    manager,
    services.map((s) => s.name),
    timeoutMs,
  );
}

export function sampleClusterAvailability(provider: LocalProvider, cluster: string): AvailabilitySampler {
  return sampleAvailability({ managers: () => managerEndpoints(provider, cluster) });
}

/** "web 4/4 running; lowest 3/4" for test output and notes. */
export function describeAvailability(r: AvailabilityReport): string {
  const lines = r.services.map((s) => `${s.service} ${s.latest}/${s.replicas} running; lowest ${s.lowest}/${s.replicas}`);
  return `${lines.join(', ')} (${r.samples} samples, ${r.unanswered} unanswered)`;
}
