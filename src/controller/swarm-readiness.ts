// The leader's swarm readiness (/readyz, issue 6): the leader is ready when it can reach
// the swarm API of a manager of every cluster it manages. A follower does not act, so
// the HTTP server asks this only on the leader (a follower is ready on etcd alone).
//
// Per cluster: the provider's running manager instances are asked in parallel, and one
// that answers as an active swarm manager is enough (the others may be mid-replacement).
// A cluster with no running manager instance yet (being created) has no swarm to reach
// and does not hold readiness back. A provider that cannot list (credentials, API down)
// does: the leader cannot act on that cluster.
import type { Logger } from '../log.ts';
import type { Instance } from '../model/snapshot.ts';
import type { Provider } from '../providers/provider.ts';
import type { DockerEndpoint } from '../swarm/docker-endpoint.ts';
import type { ResolvedSpec } from '../spec/defaults.ts';
import type { SwarmApi } from '../swarm/port.ts';

export interface SwarmReadinessDeps {
  /** Every cluster the controller manages, resolved. */
  readonly listClusters: () => Promise<readonly ResolvedSpec[]>;
  readonly providerFor: (spec: ResolvedSpec) => Provider;
  /** A client for one manager's dockerd; closed after each probe. */
  readonly swarmFor: (endpoint: DockerEndpoint) => SwarmApi;
  readonly logger?: Logger;
  /**
   * How long a verdict is reused. Each check lists instances through the provider (on
   * EC2 a DescribeInstances call), and probes come every few seconds from every
   * orchestrator watching the controller; the API budget belongs to the reconcile loop.
   */
  readonly cacheMs?: number;
  readonly now?: () => number;
}

export const READINESS_CACHE_MS = 10_000;

/** Returns the `swarm` readiness check of buildServer(): true when every cluster's swarm answers. */
export function swarmReadiness(deps: SwarmReadinessDeps): () => Promise<boolean> {
  const cacheMs = deps.cacheMs ?? READINESS_CACHE_MS;
  const now = deps.now ?? Date.now;
  let last: { at: number; verdict: Promise<boolean> } | undefined;
  return () => {
    // Concurrent probes share one check in flight as well as a recent verdict.
    if (last && now() - last.at < cacheMs) return last.verdict;
    const verdict = checkAll(deps);
    last = { at: now(), verdict };
    return verdict;
  };
}

async function checkAll(deps: SwarmReadinessDeps): Promise<boolean> {
  const clusters = await deps.listClusters();
  const results = await Promise.all(clusters.map((spec) => reachSwarm(spec, deps)));
  return results.every(Boolean);
}

async function reachSwarm(spec: ResolvedSpec, deps: SwarmReadinessDeps): Promise<boolean> {
  let managers: Instance[];
  try {
    const provider = deps.providerFor(spec);
    managers = (await provider.list(spec.name)).filter((i) => i.role === 'manager' && i.state === 'running');
    if (managers.length === 0) return true;
    await Promise.any(managers.map((m) => askManager(deps, provider.dockerEndpoint(m))));
    return true;
  } catch (err) {
    deps.logger?.debug({ cluster: spec.name, err }, 'No swarm manager of the cluster answers');
    return false;
  }
}

async function askManager(deps: SwarmReadinessDeps, endpoint: DockerEndpoint): Promise<void> {
  const swarm = deps.swarmFor(endpoint);
  try {
    const info = await swarm.info();
    if (info.localNodeState !== 'active' || !info.isManager) {
      throw new Error(`engine is ${info.localNodeState}${info.isManager ? '' : ', not a manager'}`);
    }
  } finally {
    await swarm.close().catch(() => undefined);
  }
}
