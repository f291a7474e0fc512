// Where the alert webhook learns which nodes a cluster has. Any replica may receive an
// alert (a Kubernetes Service spreads them), and only the leader observes, so the
// directory reads sources every replica can reach: the cluster store (does the cluster
// exist?) and the provider's instance list; swarm nodes are optional (they let
// `swarm_node_id` labels resolve) and come from the leader's latest snapshot when the
// replica has one.
import type { Instance, Snapshot, SwarmNode } from '../observe/snapshot.ts';
import type { ClusterNodes, NodeDirectory } from './alert-intake.ts';

export interface NodeDirectorySources {
  clusterExists(cluster: string): Promise<boolean>;
  listInstances(cluster: string): Promise<readonly Instance[]>;
  listSwarmNodes?(cluster: string): Promise<readonly SwarmNode[]>;
}

export function createNodeDirectory(sources: NodeDirectorySources): NodeDirectory {
  return {
    async lookup(cluster: string): Promise<ClusterNodes | undefined> {
      if (!(await sources.clusterExists(cluster))) return undefined;
      const [instances, swarmNodes] = await Promise.all([sources.listInstances(cluster), sources.listSwarmNodes?.(cluster) ?? []]);
      return { instances, swarmNodes };
    },
  };
}

/** A directory over the latest snapshot per cluster (the leader, the demo). */
export function snapshotNodeDirectory(latest: (cluster: string) => Snapshot | undefined): NodeDirectory {
  return {
    async lookup(cluster: string): Promise<ClusterNodes | undefined> {
      const s = latest(cluster);
      if (!s) return undefined;
      const instances = s.instances.status === 'ok' ? s.instances.value : (s.instances.partial ?? []);
      const swarm = s.swarm.status === 'ok' ? s.swarm.value : s.swarm.partial;
      return { instances, swarmNodes: swarm?.nodes ?? [] };
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
