// EC2 and SDK failures sorted into SwarmkeeperError codes at the adapter boundary, so
// the controller branches on codes and a person reading status learns what to do.
// Messages carry the EC2 error code and the spec field it came from, never request
// parameters (user-data holds a bootstrap token) or credentials.
import { SwarmkeeperError, messageOf, type ErrorCode } from '../../errors.ts';

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

/** What a rule decides: the code, the message after the "<doing>: " prefix, the details. */
interface Verdict {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

/** A rule for an error EC2 answered with a code; the first that matches decides. */
interface ServiceRule {
  readonly when: (code: string, msg: string) => boolean;
  readonly then: (code: string, msg: string) => Verdict;
}

const specFieldOf = (code: string): string | undefined => SPEC_FIELDS.find(([re]) => re.test(code))?.[1];

const SERVICE_RULES: readonly ServiceRule[] = [
  {
    when: (code) => specFieldOf(code) !== undefined,
    then: (code, msg) => {
      const field = specFieldOf(code) as string;
      return { code: 'SpecInvalid', message: `EC2 refused ${field} (${code}): ${msg}; fix the spec`, details: { field, ec2Code: code } };
    },
  },
  {
    when: (code, msg) =>
      (code === 'InvalidParameterValue' && /iamInstanceProfile/i.test(msg)) || (code === 'NoSuchEntity' && /instance profile/i.test(msg)),
    then: (code, msg) => ({
      code: 'SpecInvalid',
      message: `EC2 refused spec.provider.ec2.iamInstanceProfile (${code}): ${msg}`,
      details: { field: 'spec.provider.ec2.iamInstanceProfile', ec2Code: code },
    }),
  },
  {
    when: (code) => INSUFFICIENT_CAPACITY.has(code),
    then: (code) => ({
      code: 'Capacity',
      message: `EC2 has no capacity for the instance type here (${code}); other subnets are tried, then the launch is retried later with backoff`,
      details: { ec2Code: code, capacityKind: 'capacity' satisfies CapacityKind },
    }),
  },
  {
    when: (code) => QUOTA.has(code),
    then: (code, msg) => ({
      code: 'Capacity',
      message: `the account's EC2 quota is exhausted (${code}): ${msg}; raise the quota (Service Quotas) or lower the counts; no more launches until then`,
      details: { ec2Code: code, capacityKind: 'quota' satisfies CapacityKind },
    }),
  },
  {
    when: (code) => THROTTLED.has(code),
    then: (code) => ({
      code: 'Throttled',
      message: `EC2 throttled the call and it stayed throttled after adaptive retries (${code})`,
      details: { ec2Code: code },
    }),
  },
  {
    when: (code) => UNAUTHORIZED.has(code),
    then: (code, msg) => ({
      code: 'Unauthorized',
      message: `EC2 refused the credentials (${code}): ${msg}; check the IAM policy, or ${CREDENTIALS_HINT}`,
      details: { ec2Code: code },
    }),
  },
  {
    when: (code) => code === 'IdempotentParameterMismatch',
    then: (code) => ({
      code: 'Conflict',
      message: `the client token was used before with other parameters (${code}); the launch is left to the next cycle`,
      details: { ec2Code: code },
    }),
  },
  {
    when: (code) => /\.NotFound$/.test(code),
    then: (code, msg) => ({ code: 'NotFound', message: `${msg} (${code})`, details: { ec2Code: code } }),
  },
];

/** What is known of an error that carries no EC2 code (the SDK's own, or the network's). */
interface ClientFailure {
  readonly name: unknown;
  readonly sysCode: unknown;
  readonly msg: string;
  readonly region: string | undefined;
}

/** Rules for errors raised before EC2 answered; the first that matches decides. */
const CLIENT_RULES: readonly { readonly when: (f: ClientFailure) => boolean; readonly then: (f: ClientFailure) => Verdict }[] = [
  {
    when: (f) => f.name === 'CredentialsProviderError' || /Could not load credentials/i.test(f.msg),
    then: () => ({ code: 'Unauthorized', message: `no AWS credentials found; ${CREDENTIALS_HINT}` }),
  },
  {
    when: (f) => /Region is missing/i.test(f.msg),
    then: () => ({
      code: 'SpecInvalid',
      message: 'no AWS region: set spec.provider.ec2.region (or AWS_REGION)',
      details: { field: 'spec.provider.ec2.region' },
    }),
  },
  {
    when: (f) => f.sysCode === 'ENOTFOUND' && f.region !== undefined && f.msg.includes(f.region),
    then: (f) => ({
      code: 'SpecInvalid',
      message: `the EC2 endpoint of region ${f.region} does not resolve: is spec.provider.ec2.region a real AWS region?`,
      details: { field: 'spec.provider.ec2.region' },
    }),
  },
];

export function classifyEc2Error(err: unknown, ctx: ClassifyContext): SwarmkeeperError {
  if (err instanceof SwarmkeeperError) return err;
  const verdict = verdictOf(err, ctx);
  return new SwarmkeeperError(verdict.code, `${ctx.doing}: ${verdict.message}`, {
    cause: err,
    ...(verdict.details ? { details: verdict.details } : {}),
  });
}

function verdictOf(err: unknown, ctx: ClassifyContext): Verdict {
  const code = ec2CodeOf(err);
  const msg = messageOf(err);
  if (code !== undefined) {
    const rule = SERVICE_RULES.find((r) => r.when(code, msg));
    return rule ? rule.then(code, msg) : { code: 'Unavailable', message: `EC2 answered ${code}: ${msg}`, details: { ec2Code: code } };
  }
  const e = err as { name?: unknown; code?: unknown } | null;
  const failure: ClientFailure = { name: e?.name, sysCode: e?.code, msg, region: ctx.region };
  const rule = CLIENT_RULES.find((r) => r.when(failure));
  return rule ? rule.then(failure) : { code: 'Unavailable', message: msg };
}

export function capacityKindOf(err: SwarmkeeperError): CapacityKind | undefined {
  const k = err.details.capacityKind;
  return k === 'capacity' || k === 'quota' ? k : undefined;
}
