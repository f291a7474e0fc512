// EC2 is eventually consistent: an instance RunInstances just returned may be missing
// from DescribeInstances for seconds (rarely minutes). Launches are remembered by the
// launch's client token until DescribeInstances shows them (or a TTL passes), and list()
// merges them in, so a fresh instance is neither reported as missing (a reason to launch
// again) nor later as an unknown orphan.
import type { Instance } from '../../model/snapshot.ts';

interface Entry {
  readonly instances: Instance[];
  readonly at: number;
}

export class RecentLaunches {
  private readonly byToken = new Map<string, Entry>();
  private readonly unseen = new Map<string, { instance: Instance; at: number }>();

  constructor(private readonly ttlMs: number) {}

  remember(clientToken: string, instances: readonly Instance[], now: number): void {
    this.byToken.set(clientToken, { instances: [...instances], at: now });
    for (const i of instances) this.unseen.set(i.id, { instance: i, at: now });
  }

  /** The instances a launch with this token produced, while remembered. */
  launchedWith(clientToken: string, now: number): readonly Instance[] | undefined {
    const e = this.byToken.get(clientToken);
    if (!e) return undefined;
    if (now - e.at > this.ttlMs) {
      this.byToken.delete(clientToken);
      return undefined;
    }
    return e.instances;
  }

  /**
   * `listed` plus remembered launches DescribeInstances did not show yet. Instances it
   * shows are forgotten as unseen (from then on DescribeInstances is the truth: missing
   * means terminated); entries older than the TTL are dropped.
   */
  merge(listed: readonly Instance[], now: number): Instance[] {
    const ids = new Set(listed.map((i) => i.id));
    const out = [...listed];
    for (const [id, u] of this.unseen) {
      if (ids.has(id) || now - u.at > this.ttlMs) this.unseen.delete(id);
      else out.push(u.instance);
    }
    for (const [token, e] of this.byToken) if (now - e.at > this.ttlMs) this.byToken.delete(token);
    return out;
  }

  forget(instanceId: string): void {
    this.unseen.delete(instanceId);
    for (const e of this.byToken.values()) {
      const idx = e.instances.findIndex((i) => i.id === instanceId);
      if (idx >= 0) e.instances.splice(idx, 1);
    }
  }
}
