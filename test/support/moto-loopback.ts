// Moto with a loopback subnet, and the cloud-config an instance was launched with as moto
// keeps it. Instances launched into the subnet get 127.<block>.x.y private addresses, so
// a test can send from the instance's own address (the bootstrap route checks it).
import {
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeInstanceAttributeCommand,
  DescribeSecurityGroupsCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { parse } from 'yaml';
import { TEST_REGION } from './ec2-fixtures.ts';

/** A VPC 127.<block>.0.0/16 with one subnet in zone a (third octet from the pid) and its default security group. */
export async function loopbackSubnet(ec2: EC2Client, block: number): Promise<{ subnetId: string; securityGroupId: string }> {
  const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: `127.${block}.0.0/16` }))).Vpc;
  const subnet = (
    await ec2.send(
      new CreateSubnetCommand({
        VpcId: vpc?.VpcId,
        CidrBlock: `127.${block}.${process.pid % 250}.0/24`,
        AvailabilityZone: `${TEST_REGION}a`,
      }),
    )
  ).Subnet;
  const sg = ((await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc?.VpcId as string] }] })))
    .SecurityGroups ?? [])[0];
  return { subnetId: subnet?.SubnetId as string, securityGroupId: sg?.GroupId as string };
}

export interface WrittenFile {
  readonly path: string;
  readonly content: string;
  readonly permissions: string;
}

/** The instance's cloud-config user-data, read back from moto: its files by path and its units' contents by name. */
export async function launchedCloudConfig(
  ec2: EC2Client,
  instanceId: string,
): Promise<{ files: Map<string, WrittenFile>; units: Map<string, string> }> {
  const attr = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: instanceId, Attribute: 'userData' }));
  const doc = parse(Buffer.from(attr.UserData?.Value ?? '', 'base64').toString('utf8')) as {
    write_files: WrittenFile[];
    coreos: { units: { name: string; content?: string }[] };
  };
  return {
    files: new Map(doc.write_files.map((f) => [f.path, f])),
    units: new Map(doc.coreos.units.map((u) => [u.name, u.content ?? ''])),
  };
}

/** A unit's text with its `\` line continuations joined, as systemd reads the command line. */
export function joinedLines(unit: string): string {
  return unit.replace(/\\\n\s*/g, ' ');
}
