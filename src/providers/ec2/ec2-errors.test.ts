import { describe, expect, it } from 'vitest';
import { classifyEc2Error } from './ec2-errors.ts';

/** An SDK service error as the EC2 client throws it: `name` is the EC2 code. */
function serviceError(code: string, message = 'x'): Error {
  return Object.assign(new Error(message), { name: code, $metadata: { httpStatusCode: 400 } });
}

const ctx = { doing: 'launching 1 worker instance(s) of cluster prod', region: 'eu-nowhere-9' };

describe('EC2 errors sorted into codes', () => {
  it.each([
    ['InvalidAMIID.NotFound', 'SpecInvalid', 'spec.provider.ec2.imageId'],
    ['InvalidAMIID.Malformed', 'SpecInvalid', 'spec.provider.ec2.imageId'],
    ['InvalidSubnetID.NotFound', 'SpecInvalid', 'spec.provider.ec2.subnetIds'],
    ['InvalidGroup.NotFound', 'SpecInvalid', 'spec.provider.ec2.securityGroupIds'],
    ['InvalidKeyPair.NotFound', 'SpecInvalid', 'spec.provider.ec2.keyName'],
    ['InsufficientInstanceCapacity', 'Capacity', undefined],
    ['InstanceLimitExceeded', 'Capacity', undefined],
    ['VcpuLimitExceeded', 'Capacity', undefined],
    ['RequestLimitExceeded', 'Throttled', undefined],
    ['AuthFailure', 'Unauthorized', undefined],
    ['UnauthorizedOperation', 'Unauthorized', undefined],
    ['IdempotentParameterMismatch', 'Conflict', undefined],
    ['InvalidInstanceID.NotFound', 'NotFound', undefined],
    ['InternalError', 'Unavailable', undefined],
  ])('%s -> %s', (code, expected, field) => {
    const e = classifyEc2Error(serviceError(code), ctx);
    expect(e.code).toBe(expected);
    expect(e.details.ec2Code).toBe(code);
    expect(e.details.field).toBe(field);
    expect(e.message).toContain(code);
    expect(e.message.startsWith(ctx.doing)).toBe(true);
  });

  it('names the instance profile field when EC2 refuses it', () => {
    const e = classifyEc2Error(serviceError('InvalidParameterValue', 'Value (ops) for parameter iamInstanceProfile.name is invalid'), ctx);
    expect(e.code).toBe('SpecInvalid');
    expect(e.details.field).toBe('spec.provider.ec2.iamInstanceProfile');
    // Another InvalidParameterValue is not blamed on the profile.
    expect(classifyEc2Error(serviceError('InvalidParameterValue', 'bad MinCount'), ctx).code).toBe('Unavailable');
  });

  it('keeps a SwarmkeeperError as it is, and calls any other failure Unavailable with its cause', () => {
    const own = classifyEc2Error(serviceError('AuthFailure'), ctx);
    expect(classifyEc2Error(own, { doing: 'elsewhere' })).toBe(own);
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const e = classifyEc2Error(reset, ctx);
    expect(e.code).toBe('Unavailable');
    expect(e.message).toBe(`${ctx.doing}: socket hang up`);
    expect(e.cause).toBe(reset);
  });

  it('tells capacity from quota', () => {
    expect(classifyEc2Error(serviceError('InsufficientInstanceCapacity'), ctx).details.capacityKind).toBe('capacity');
    expect(classifyEc2Error(serviceError('InstanceLimitExceeded'), ctx).details.capacityKind).toBe('quota');
  });

  it('says how to provide missing credentials', () => {
    const e = classifyEc2Error(
      Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }),
      ctx,
    );
    expect(e.code).toBe('Unauthorized');
    expect(e.message).toMatch(/AWS_ACCESS_KEY_ID.*AWS_PROFILE.*instance profile/);
  });

  it('names the region field for a missing region, and for a region whose endpoint does not resolve (fault injected)', () => {
    expect(classifyEc2Error(new Error('Region is missing'), ctx).details.field).toBe('spec.provider.ec2.region');
    // What the SDK's HTTP handler throws for an unknown region's endpoint; tests never
    // resolve real AWS names, so the error is built here.
    const dns = Object.assign(new Error('getaddrinfo ENOTFOUND ec2.eu-nowhere-9.amazonaws.com'), { code: 'ENOTFOUND' });
    const e = classifyEc2Error(dns, ctx);
    expect(e.code).toBe('SpecInvalid');
    expect(e.details.field).toBe('spec.provider.ec2.region');
    expect(e.message).toMatch(/eu-nowhere-9.*real AWS region/);
  });
});
