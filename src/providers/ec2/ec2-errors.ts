// EC2 and SDK failures sorted into SwarmkeeperError codes at the adapter boundary, so
// the controller branches on codes and a person reading status learns what to do.
// Messages carry the EC2 error code and the spec field it came from, never request
// parameters (user-data holds a bootstrap token) or credentials.
import { SwarmkeeperError, messageOf } from '../../errors.ts';

/** Why a launch could not get instances; the provider and the planner react differently. */
export type CapacityKind = 'capacity' | 'quota';

const SPEC_FIELDS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^InvalidAMIID\./, 'spec.provider.ec2.imageId'],
  [/^InvalidSubnetID\.|^InvalidSubnet$/, 'spec.provider.ec2.subnetIds'],
  [/^InvalidGroup\.|^InvalidSecurityGroupID\./, 'spec.provider.ec2.securityGroupIds'],
  [/^InvalidKeyPair\./, 'spec.provider.ec2.keyName'],
];

const INSUFFICIENT_CAPACITY = new Set(['InsufficientInstanceCapacity', 'InsufficientCapacity', 'InsufficientHostCapacity', 'Unsupported']);
const QUOTA = new Set(['InstanceLimitExceeded', 'VcpuLimitExceeded', 'MaxSpotInstanceCountExceeded', 'ResourceLimitExceeded']);
const THROTTLED = new Set(['RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'TooManyRequestsException']);
const UNAUTHORIZED = new Set([
  'AuthFailure',
  'UnauthorizedOperation',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'OptInRequired',
  'ExpiredToken',
  'RequestExpired',
]);

export const CREDENTIALS_HINT =
  'provide AWS credentials the standard way: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), AWS_PROFILE with ~/.aws/credentials or SSO, a web identity token (EKS IRSA), or an instance profile';

/** The EC2 error code of an SDK error (`name` for service errors), if it has one. */
export function ec2CodeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { name?: unknown; Code?: unknown; $metadata?: unknown };
  if (typeof e.Code === 'string') return e.Code;
  if (e.$metadata !== undefined && typeof e.name === 'string') return e.name;
  return undefined;
}

export interface ClassifyContext {
  /** Gerund phrase: "launching 3 worker instances". */
  readonly doing: string;
  readonly region?: string;
}

export function classifyEc2Error(err: unknown, ctx: ClassifyContext): SwarmkeeperError {
  if (err instanceof SwarmkeeperError) return err;
  const code = ec2CodeOf(err);
  const msg = messageOf(err);
  const at = `${ctx.doing}: `;
  if (code !== undefined) {
    const field = SPEC_FIELDS.find(([re]) => re.test(code))?.[1];
    if (field) {
      return new SwarmkeeperError('SpecInvalid', `${at}EC2 refused ${field} (${code}): ${msg}; fix the spec`, {
        cause: err,
        details: { field, ec2Code: code },
      });
    }
    if (
      (code === 'InvalidParameterValue' && /iamInstanceProfile/i.test(msg)) ||
      (code === 'NoSuchEntity' && /instance profile/i.test(msg))
    ) {
      return new SwarmkeeperError('SpecInvalid', `${at}EC2 refused spec.provider.ec2.iamInstanceProfile (${code}): ${msg}`, {
        cause: err,
        details: { field: 'spec.provider.ec2.iamInstanceProfile', ec2Code: code },
      });
    }
    if (INSUFFICIENT_CAPACITY.has(code)) {
      return new SwarmkeeperError(
        'Capacity',
        `${at}EC2 has no capacity for the instance type here (${code}); other subnets are tried, then the launch is retried later with backoff`,
        {
          cause: err,
          details: { ec2Code: code, capacityKind: 'capacity' satisfies CapacityKind },
        },
      );
    }
    if (QUOTA.has(code)) {
      return new SwarmkeeperError(
        'Capacity',
        `${at}the account's EC2 quota is exhausted (${code}): ${msg}; raise the quota (Service Quotas) or lower the counts; no more launches until then`,
        {
          cause: err,
          details: { ec2Code: code, capacityKind: 'quota' satisfies CapacityKind },
        },
      );
    }
    if (THROTTLED.has(code)) {
      return new SwarmkeeperError('Throttled', `${at}EC2 throttled the call and it stayed throttled after adaptive retries (${code})`, {
        cause: err,
        details: { ec2Code: code },
      });
    }
    if (UNAUTHORIZED.has(code)) {
      return new SwarmkeeperError(
        'Unauthorized',
        `${at}EC2 refused the credentials (${code}): ${msg}; check the IAM policy, or ${CREDENTIALS_HINT}`,
        {
          cause: err,
          details: { ec2Code: code },
        },
      );
    }
    if (code === 'IdempotentParameterMismatch') {
      return new SwarmkeeperError(
        'Conflict',
        `${at}the client token was used before with other parameters (${code}); the launch is left to the next cycle`,
        { cause: err, details: { ec2Code: code } },
      );
    }
    if (/\.NotFound$/.test(code)) {
      return new SwarmkeeperError('NotFound', `${at}${msg} (${code})`, { cause: err, details: { ec2Code: code } });
    }
    return new SwarmkeeperError('Unavailable', `${at}EC2 answered ${code}: ${msg}`, { cause: err, details: { ec2Code: code } });
  }
  const name = (err as { name?: unknown } | null)?.name;
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(msg)) {
    return new SwarmkeeperError('Unauthorized', `${at}no AWS credentials found; ${CREDENTIALS_HINT}`, { cause: err });
  }
  if (/Region is missing/i.test(msg)) {
    return new SwarmkeeperError('SpecInvalid', `${at}no AWS region: set spec.provider.ec2.region (or AWS_REGION)`, {
      cause: err,
      details: { field: 'spec.provider.ec2.region' },
    });
  }
  const sysCode = (err as { code?: unknown } | null)?.code;
  if (sysCode === 'ENOTFOUND' && ctx.region !== undefined && msg.includes(ctx.region)) {
    return new SwarmkeeperError(
      'SpecInvalid',
      `${at}the EC2 endpoint of region ${ctx.region} does not resolve: is spec.provider.ec2.region a real AWS region?`,
      {
        cause: err,
        details: { field: 'spec.provider.ec2.region' },
      },
    );
  }
  return new SwarmkeeperError('Unavailable', `${at}${msg}`, { cause: err });
}

export function capacityKindOf(err: SwarmkeeperError): CapacityKind | undefined {
  const k = err.details.capacityKind;
  return k === 'capacity' || k === 'quota' ? k : undefined;
}
