// A minimal health detector for the harness (the product's lives in src/heal): a node
// whose swarm node is down, or whose started etcd member does not answer, gets a mark
// whose `since` is when that was first seen; the mark clears when the node is healthy.
import type { HealthMark, Snapshot } from '../../../src/model/snapshot.ts';
import { urlHost } from '../../../src/model/snapshot.ts';

export class HarnessDetector {
  private readonly since = new Map<string, number>();

  marks(snapshot: Snapshot, extra: readonly HealthMark[]): HealthMark[] {
    if (snapshot.instances.status !== 'ok' || snapshot.swarm.status !== 'ok' || snapshot.etcd.status !== 'ok') {
      return [...extra, ...this.current()];
    }
    const byAddress = new Map(snapshot.instances.value.filter((i) => i.address).map((i) => [i.address as string, i.id] as const));
    const bad = new Set<string>();
    for (const n of snapshot.swarm.value.nodes) if (n.instanceId && n.state !== 'ready') bad.add(n.instanceId);
    for (const m of snapshot.etcd.value.members) {
      const id = m.peerURLs[0] ? byAddress.get(urlHost(m.peerURLs[0])) : undefined;
      if (id && m.name !== '' && m.healthy !== true) bad.add(id);
    }
    for (const id of [...this.since.keys()]) if (!bad.has(id)) this.since.delete(id);
    for (const id of bad) if (!this.since.has(id)) this.since.set(id, snapshot.observedAt);
    return [...extra, ...this.current()];
  }

  private current(): HealthMark[] {
    return [...this.since].map(([instanceId, since]) => ({ instanceId, source: 'detector:swarm' as const, reason: 'node down or etcd member not answering', since }));
  }
}
