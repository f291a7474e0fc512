// What keys.endpoints currently says, for Snapshot.publishedClientURLs: the planner
// compares it with the managers and plans cluster.publishEndpoints when they differ.
// observeWithPublished() is the observation the controller plans from (and `plan` shows).
import { parseEndpoints } from '../node/cluster-endpoints.ts';
import { observeCluster, type ObserveDeps } from '../observe/observe.ts';
import type { Snapshot } from '../observe/snapshot.ts';
import { clusterKeys } from '../store/keys.ts';
import type { FencedKv } from '../store/fenced-kv.ts';

/** observeCluster() plus what keys.endpoints says, read in parallel. */
export async function observeWithPublished(deps: ObserveDeps, mgmt: FencedKv, prefix: string): Promise<Snapshot> {
  const [snap, published] = await Promise.all([observeCluster(deps), readPublishedClientURLs(mgmt, prefix, deps.cluster).catch(() => undefined)]);
  return Object.freeze({ ...snap, ...(published === undefined ? {} : { publishedClientURLs: published }) });
}

/** The published etcd client URLs, or undefined when nothing (readable) is published. */
export async function readPublishedClientURLs(client: FencedKv, prefix: string, cluster: string): Promise<readonly string[] | undefined> {
  const key = clusterKeys(prefix, cluster).endpoints;
  const text = await client.get(key);
  if (text === undefined) return undefined;
  try {
    return parseEndpoints(text, key).etcdClientURLs;
  } catch {
    return undefined;
  }
}
