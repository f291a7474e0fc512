// What keys.endpoints currently says, for Snapshot.publishedClientURLs: the planner
// compares it with the managers and plans cluster.publishEndpoints when they differ.
import type { Etcd3 } from 'etcd3';
import { parseEndpoints } from '../node/cluster-endpoints.ts';
import { clusterKeys } from '../store/keys.ts';

/** The published etcd client URLs, or undefined when nothing (readable) is published. */
export async function readPublishedClientURLs(client: Etcd3, prefix: string, cluster: string): Promise<readonly string[] | undefined> {
  const key = clusterKeys(prefix, cluster).endpoints;
  const text = await client.get(key).string();
  if (text === null) return undefined;
  try {
    return parseEndpoints(text, key).etcdClientURLs;
  } catch {
    return undefined;
  }
}
