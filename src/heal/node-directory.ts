// Where the alert webhook learns which nodes a cluster has. Any replica may receive an
// alert (a Kubernetes Service spreads them), and only the leader observes, so the
// directory reads sources every replica can reach: the cluster store (does the cluster
// exist?) and the provider's instance list; swarm nodes are optional (they let
// `swarm_node_id` labels resolve).
import type { Instance, SwarmNode } from '../model/snapshot.ts';
import type { ClusterNodes, NodeDirectory } from './alert-intake.ts';

export interface NodeDirectorySources {
  clusterExists(cluster: string): Promise<boolean>;
  listInstances(cluster: string): Promise<readonly Instance[]>;
  listSwarmNodes?(cluster: string): Promise<readonly SwarmNode[]>;
}

export interface NodeDirectoryOptions {
  /**
   * How long one lookup answers for (default 2000 ms). Concurrent and back-to-back
   * lookups of a cluster share one read, so a flood of alerts costs one provider list
   * call per window, not one per request (EC2 throttles DescribeInstances).
   */
  readonly maxAgeMs?: number;
  /**
   * Most clusters remembered (default 64); the least recently used go first. Cluster
   * names come from the alerts, that is from the client: without a bound, a stream of
   * made-up names would grow the cache without end.
   */
  readonly maxEntries?: number;
  readonly clock?: () => number;
}

export function createNodeDirectory(sources: NodeDirectorySources, opts: NodeDirectoryOptions = {}): NodeDirectory {
  const maxAgeMs = opts.maxAgeMs ?? 2000;
  const maxEntries = opts.maxEntries ?? 64;
  const clock = opts.clock ?? Date.now;
  const cache = new Map<string, { at: number; value: Promise<ClusterNodes | undefined> }>();
  const read = async (cluster: string): Promise<ClusterNodes | undefined> => {
    if (!(await sources.clusterExists(cluster))) return undefined;
    const [instances, swarmNodes] = await Promise.all([sources.listInstances(cluster), sources.listSwarmNodes?.(cluster) ?? []]);
    return { instances, swarmNodes };
  };
  return {
    lookup(cluster: string): Promise<ClusterNodes | undefined> {
      const now = clock();
      const hit = cache.get(cluster);
      if (hit && now - hit.at < maxAgeMs) return hit.value;
      const value = read(cluster);
      cache.delete(cluster);
      cache.set(cluster, { at: now, value });
      if (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
      // A failed read is not remembered: the next request tries again.
      value.catch(() => {
        if (cache.get(cluster)?.value === value) cache.delete(cluster);
      });
      return value;
    },
  };
}

/** A fixed directory (tests, and single-cluster setups wired by hand). */
export function staticNodeDirectory(clusters: Readonly<Record<string, ClusterNodes>>): NodeDirectory {
  return {
    async lookup(cluster: string) {
      return Object.hasOwn(clusters, cluster) ? clusters[cluster] : undefined;
    },
  };
}
