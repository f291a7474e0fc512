// Tags swarmkeeper puts on every instance it launches, and the mapping from EC2's
// Instance shape to the snapshot's. The cluster tag is what list() filters on; the
// role, config hash and client token tags let a restarted controller rebuild its view
// from EC2 alone.
import type { Instance as Ec2Instance, Tag, TagSpecification } from '@aws-sdk/client-ec2';
import type { Instance, InstanceState } from '../../model/snapshot.ts';
import type { Role } from '../../spec/schema.ts';

export const TAGS = {
  cluster: 'swarmkeeper.dev/cluster',
  role: 'swarmkeeper.dev/role',
  configHash: 'swarmkeeper.dev/config-hash',
  managedBy: 'swarmkeeper.dev/managed-by',
  clientToken: 'swarmkeeper.dev/client-token',
} as const;

export const MANAGED_BY = 'swarmkeeper';

export interface InstanceTagInput {
  readonly cluster: string;
  readonly role: Role;
  readonly configHash: string;
  readonly clientToken: string;
  /** spec.provider.ec2.tags; swarmkeeper's own keys win over them. */
  readonly extra?: Readonly<Record<string, string>>;
}

export function instanceTags(t: InstanceTagInput): Record<string, string> {
  return {
    Name: `${t.cluster}-${t.role}`,
    ...(t.extra ?? {}),
    [TAGS.cluster]: t.cluster,
    [TAGS.role]: t.role,
    [TAGS.configHash]: t.configHash,
    [TAGS.managedBy]: MANAGED_BY,
    [TAGS.clientToken]: t.clientToken,
  };
}

export function tagSpecifications(tags: Readonly<Record<string, string>>): TagSpecification[] {
  const list: Tag[] = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
  return [
    { ResourceType: 'instance', Tags: list },
    { ResourceType: 'volume', Tags: list },
  ];
}

const STATES: ReadonlySet<string> = new Set(['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated']);

/** The snapshot view of an EC2 instance; undefined when it carries no swarmkeeper role tag. */
export function instanceFromEc2(i: Ec2Instance, statusChecksOk?: boolean): Instance | undefined {
  const tags = Object.fromEntries((i.Tags ?? []).filter((t) => t.Key !== undefined).map((t) => [t.Key as string, t.Value ?? '']));
  const role = tags[TAGS.role];
  if (!i.InstanceId || (role !== 'manager' && role !== 'worker')) return undefined;
  const stateName = i.State?.Name ?? 'pending';
  return {
    id: i.InstanceId,
    role,
    state: (STATES.has(stateName) ? stateName : 'pending') as InstanceState,
    launchedAt: i.LaunchTime ? new Date(i.LaunchTime).getTime() : 0,
    ...(i.PrivateIpAddress ? { address: i.PrivateIpAddress } : {}),
    ...(i.Placement?.AvailabilityZone ? { zone: i.Placement.AvailabilityZone } : {}),
    ...(i.SubnetId ? { subnetId: i.SubnetId } : {}),
    configHash: tags[TAGS.configHash] ?? '',
    ...(tags[TAGS.clientToken] ? { clientToken: tags[TAGS.clientToken] } : {}),
    tags,
    ...(statusChecksOk !== undefined ? { statusChecksOk } : {}),
  };
}
