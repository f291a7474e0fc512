// One Provider per cluster, rebuilt when the cluster's provider block changes (an edit
// of the spec's provider settings) and closed when the cluster goes away.
import { canonicalJson } from '../spec/config-hash.ts';
import type { Provider } from '../providers/provider.ts';
import type { ResolvedSpec } from '../spec/defaults.ts';

export class ProviderCache {
  private readonly byCluster = new Map<string, { key: string; provider: Provider }>();

  constructor(private readonly make: (spec: ResolvedSpec) => Provider) {}

  get(spec: ResolvedSpec): Provider {
    const key = canonicalJson(spec.provider);
    const hit = this.byCluster.get(spec.name);
    if (hit && hit.key === key) return hit.provider;
    if (hit) void hit.provider.close().catch(() => undefined);
    const provider = this.make(spec);
    this.byCluster.set(spec.name, { key, provider });
    return provider;
  }

  /** The cluster's provider when one was built, without building one. */
  peek(cluster: string): Provider | undefined {
    return this.byCluster.get(cluster)?.provider;
  }

  async drop(cluster: string): Promise<void> {
    const hit = this.byCluster.get(cluster);
    this.byCluster.delete(cluster);
    await hit?.provider.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    const all = [...this.byCluster.values()];
    this.byCluster.clear();
    await Promise.all(all.map((h) => h.provider.close().catch(() => undefined)));
  }
}
