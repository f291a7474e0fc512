// The demo's sample SwarmCluster (3 managers, 2 workers) and its later edits. Healing is
// tuned for a demo (a dead node is noticed in seconds, not minutes); everything else is
// the defaults a user would get.
import { API_VERSION, KIND, type ProviderSpec, type SwarmCluster } from '../../spec/schema.ts';

export const DEMO_CLUSTER = 'demo';

export interface DemoSpecOptions {
  readonly managers?: 1 | 3 | 5 | 7;
  readonly workers?: number;
  readonly provider: ProviderSpec;
}

export function demoCluster(opts: DemoSpecOptions): SwarmCluster {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: DEMO_CLUSTER },
    spec: {
      managers: { count: opts.managers ?? 3 },
      workers: { count: opts.workers ?? 2 },
      provider: opts.provider,
      rollout: { maxSurge: 1, maxUnavailable: 1, drainTimeoutSeconds: 30 },
      healing: { enabled: true, unhealthyAfterSeconds: 5, nodeStartupTimeoutSeconds: 180, minHealthySeconds: 5, maxUnhealthy: '40%' },
    },
  };
}
