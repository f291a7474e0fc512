// One RunInstances call of a launch, and the subnet fallback around it: a chunk of the
// batch goes to its subnet first and, on "no capacity here", to the spec's other
// subnets in order. Idempotency, the subnet spread and the backoff are the provider's
// (ec2-provider.ts); this file only sends what it is given.
import type { RunInstancesCommandInput, RunInstancesCommandOutput } from '@aws-sdk/client-ec2';
import type { SwarmkeeperError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { Instance } from '../../model/snapshot.ts';
import type { Ec2ProviderSpec } from '../../spec/schema.ts';
import type { RenderedUserData } from '../../cloudconfig/user-data.ts';
import type { LaunchRequest } from '../provider.ts';
import type { Ec2Api } from './ec2-api.ts';
import { capacityKindOf, classifyEc2Error } from './ec2-errors.ts';
import { instanceFromEc2, tagSpecifications } from './ec2-instances.ts';
import { callClientToken, type LaunchChunk } from './subnet-spread.ts';

/** What every RunInstances call of one launch shares. */
export interface LaunchCall {
  readonly req: LaunchRequest;
  readonly ec2: Ec2ProviderSpec;
  /** Gerund phrase for errors: "launching 3 worker instance(s) of cluster prod". */
  readonly doing: string;
  readonly userData: RenderedUserData;
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * The chunk's instances from the first subnet that had capacity, or none when no subnet
 * had; `capacityError` is the last "no capacity" answer seen on the way. Any other
 * failure is thrown, classified.
 */
export async function launchInSubnets(
  api: Ec2Api,
  log: Logger,
  call: LaunchCall,
  chunk: LaunchChunk,
): Promise<{ readonly instances?: Instance[]; readonly capacityError?: SwarmkeeperError }> {
  const { req, ec2 } = call;
  let capacityError: SwarmkeeperError | undefined;
  for (const subnetId of [chunk.subnetId, ...ec2.subnetIds.filter((s) => s !== chunk.subnetId)]) {
    try {
      log.info(
        { role: req.role, count: chunk.count, subnetId, clientToken: req.clientToken, userDataBytes: call.userData.size.rawBytes },
        'Launching instances',
      );
      const out = await api.runInstances(runInstancesInput(call, subnetId, chunk.count));
      return { instances: instancesOfRun(out, call.tags), ...(capacityError ? { capacityError } : {}) };
    } catch (err) {
      const e = classifyEc2Error(err, { doing: `${call.doing} in ${subnetId}`, region: ec2.region });
      if (e.code !== 'Capacity' || capacityKindOf(e) !== 'capacity') throw e;
      log.warn({ subnetId, ec2Code: e.details.ec2Code }, 'No capacity in subnet, trying the next one');
      capacityError = e;
    }
  }
  return capacityError ? { capacityError } : {};
}

function runInstancesInput(call: LaunchCall, subnetId: string, count: number): RunInstancesCommandInput {
  const { req, ec2 } = call;
  const profile = ec2.iamInstanceProfile;
  return {
    ImageId: ec2.imageId,
    InstanceType: (req.role === 'manager' ? req.spec.managers.instanceType : req.spec.workers.instanceType) as never,
    MinCount: count,
    MaxCount: count,
    SubnetId: subnetId,
    SecurityGroupIds: [...ec2.securityGroupIds],
    ...(ec2.keyName ? { KeyName: ec2.keyName } : {}),
    ...(profile ? { IamInstanceProfile: profile.startsWith('arn:') ? { Arn: profile } : { Name: profile } } : {}),
    UserData: Buffer.from(call.userData.text, 'utf8').toString('base64'),
    TagSpecifications: tagSpecifications(call.tags),
    // One hop: everything on the node that needs metadata (the metadata unit, the
    // agent with --net=host) is in the host's network namespace; a container on a
    // bridge network is a hop further and cannot reach the user-data's token.
    MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 },
    ClientToken: callClientToken(req.clientToken, subnetId, count),
  };
}

/** The launched instances; EC2 may answer without their tags, which are then the ones sent. */
function instancesOfRun(out: RunInstancesCommandOutput, tags: Readonly<Record<string, string>>): Instance[] {
  const launched: Instance[] = [];
  for (const i of out.Instances ?? []) {
    const inst = instanceFromEc2({ ...i, Tags: i.Tags?.length ? i.Tags : Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) });
    if (inst) launched.push(inst);
  }
  return launched;
}
