// Builders for EC2 provider tests against moto: a resolved spec whose ec2 block names
// moto's default subnets, security group and an image moto knows.
import { DescribeImagesCommand, DescribeSecurityGroupsCommand, DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { NodeAgentConfig } from '../../src/protocol/agent-config.ts';
import type { LaunchRequest } from '../../src/providers/provider.ts';
import { resolveSpec, type ResolvedSpec } from '../../src/spec/defaults.ts';
import type { Ec2ProviderSpec, SwarmClusterSpec } from '../../src/spec/schema.ts';
import { nodeConfigHash } from '../../src/spec/config-hash.ts';
import type { Role } from '../../src/spec/schema.ts';

export const TEST_REGION = 'eu-west-1';

/** Moto accepts any credentials; the SDK must never look further (no IMDS, no files). */
export function useTestCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/swarmkeeper-test-credentials';
  process.env.AWS_CONFIG_FILE = '/nonexistent/swarmkeeper-test-config';
  delete process.env.AWS_PROFILE;
}

export async function motoEc2Spec(endpoint: string): Promise<Ec2ProviderSpec> {
  const c = new EC2Client({ region: TEST_REGION, endpoint });
  try {
    const subnets = (await c.send(new DescribeSubnetsCommand({}))).Subnets ?? [];
    const sgs = (await c.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? [];
    return {
      region: TEST_REGION,
      endpoint,
      imageId: await motoAmazonImageId(c),
      subnetIds: subnets.map((s) => s.SubnetId as string).sort(),
      securityGroupIds: sgs.slice(0, 1).map((g) => g.GroupId as string),
      keyName: 'ops',
      tags: { team: 'platform' },
    };
  } finally {
    c.destroy();
  }
}

/** An Amazon-owned image moto ships with (RunInstances refuses an image it does not know). */
export async function motoAmazonImageId(c: EC2Client): Promise<string> {
  const images = (await c.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images ?? [];
  return images.find((i) => /^ami-[0-9a-f]{8,17}$/.test(i.ImageId ?? ''))?.ImageId ?? 'ami-12c6146b';
}

export function anEc2Spec(ec2: Ec2ProviderSpec, o: Partial<SwarmClusterSpec> = {}, name = 'prod'): ResolvedSpec {
  return resolveSpec(name, 1, { managers: { count: 3 }, workers: { count: 5 }, provider: { ec2 }, ...o });
}

export function anAgentConfig(spec: ResolvedSpec, role: Role, o: Partial<NodeAgentConfig> = {}): NodeAgentConfig {
  return {
    cluster: spec.name,
    role,
    managementEtcd: { endpoints: ['http://10.0.0.5:2379'], prefix: '/swarmkeeper' },
    bootstrapUrl: 'https://10.0.0.5:8443',
    bootstrapToken: 'skb1.testtokenid.0123456789abcdef0123456789abcdef',
    agentImage: 'registry.example/swarmkeeper:test',
    ...o,
  };
}

export function aLaunchRequest(spec: ResolvedSpec, o: Partial<LaunchRequest> = {}): LaunchRequest {
  const role = o.role ?? 'worker';
  return {
    spec,
    role,
    count: 1,
    clientToken: `launch-${role}-${Math.random().toString(36).slice(2, 10)}`,
    configHash: nodeConfigHash(spec, role),
    agent: anAgentConfig(spec, role),
    ...o,
  };
}
