// Clients of a cluster's peers (each node's dockerd, the cluster's etcd), kept across
// cycles so a reconcile does not reconnect every time. Built by injected factories: the
// real ones wrap DockerSwarm and EtcdMembership, tests pass SimWorld's.
import type { EtcdMembershipApi } from '../etcd/port.ts';
import type { DockerEndpoint } from '../swarm/docker-endpoint.ts';
import type { SwarmApi } from '../swarm/port.ts';

export interface PeerFactories {
  readonly swarm: (endpoint: DockerEndpoint) => SwarmApi;
  readonly etcd: (clientURLs: readonly string[]) => EtcdMembershipApi;
}

/** A small cache: least recently used clients are closed when it is full. */
export class PeerClients {
  private readonly swarmCache = new Map<string, SwarmApi>();
  private readonly etcdCache = new Map<string, EtcdMembershipApi>();

  constructor(
    private readonly factories: PeerFactories,
    private readonly limits = { swarm: 16, etcd: 4 },
  ) {}

  swarm(endpoint: DockerEndpoint): SwarmApi {
    // Only the identifying part of a TLS endpoint makes the key (no key material in it).
    const id = 'socketPath' in endpoint ? `unix:${endpoint.socketPath}` : `tcp:${endpoint.host}:${endpoint.port}`;
    return take(this.swarmCache, id, () => this.factories.swarm(endpoint), this.limits.swarm);
  }

  etcd(clientURLs: readonly string[]): EtcdMembershipApi {
    const urls = [...new Set(clientURLs)].sort();
    return take(this.etcdCache, urls.join(','), () => this.factories.etcd(urls), this.limits.etcd);
  }

  async close(): Promise<void> {
    const all = [...this.swarmCache.values(), ...this.etcdCache.values()];
    this.swarmCache.clear();
    this.etcdCache.clear();
    await Promise.all(all.map((c) => c.close().catch(() => undefined)));
  }
}

function take<T extends { close(): Promise<void> }>(cache: Map<string, T>, id: string, make: () => T, limit: number): T {
  const hit = cache.get(id);
  if (hit) {
    cache.delete(id);
    cache.set(id, hit);
    return hit;
  }
  const made = make();
  cache.set(id, made);
  while (cache.size > limit) {
    const [oldest, client] = cache.entries().next().value as [string, T];
    cache.delete(oldest);
    void client.close().catch(() => undefined);
  }
  return made;
}
