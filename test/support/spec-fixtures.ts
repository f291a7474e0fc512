// Builders for SwarmCluster documents: a valid default with overrides, so each test
// states only what matters to it.
import { API_VERSION, KIND, type SwarmCluster, type SwarmClusterSpec } from '../../src/spec/schema.ts';

export interface ClusterOverrides {
  readonly name?: string;
  readonly spec?: Partial<SwarmClusterSpec>;
  readonly metadata?: Partial<SwarmCluster['metadata']>;
}

export function aSwarmCluster(o: ClusterOverrides = {}): SwarmCluster {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: o.name ?? 'prod', ...o.metadata },
    spec: {
      managers: { count: 3 },
      workers: { count: 2 },
      provider: { local: {} },
      ...o.spec,
    },
  };
}

export function anEc2Cluster(o: ClusterOverrides = {}): SwarmCluster {
  return aSwarmCluster({
    ...o,
    spec: {
      provider: {
        ec2: {
          region: 'eu-west-1',
          imageId: 'ami-0123456789abcdef0',
          subnetIds: ['subnet-0123abcd', 'subnet-4567ef01'],
          securityGroupIds: ['sg-0123abcd'],
          keyName: 'ops',
          tags: { team: 'platform' },
        },
      },
      ...o.spec,
    },
  });
}

/** A deep copy with `path` (dotted, no indices) set to `value` (undefined deletes). */
export function withField(doc: unknown, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(doc) as Record<string, unknown>;
  const parts = path.split('.');
  let node: Record<string, unknown> = copy;
  for (const p of parts.slice(0, -1)) {
    if (typeof node[p] !== 'object' || node[p] === null) node[p] = {};
    node = node[p] as Record<string, unknown>;
  }
  const last = parts[parts.length - 1] as string;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}
