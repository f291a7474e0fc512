import { describe, expect, it } from 'vitest';
import { classifyEtcdError, toEtcdError } from './etcd-errors.ts';

/** Errors named the way etcd3 names them (it casts gRPC errors to these classes). */
function named(name: string, message: string): Error {
  const ctor = { [name]: class extends Error {} }[name]!;
  return new ctor(message);
}

describe('classifyEtcdError', () => {
  it.each([
    [named('GRPCUnavailableError', 'etcdserver: unhealthy cluster'), 'Unavailable'],
    [named('GRPCFailedPreconditionError', 'etcdserver: can only promote a learner member which is in sync with leader'), 'Precondition'],
    [named('GRPCFailedPreconditionError', 'etcdserver: can only promote a learner member'), 'Precondition'],
    [named('GRPCFailedPreconditionError', 'etcdserver: re-configuration failed due to not enough started members'), 'QuorumAtRisk'],
    [named('GRPCFailedPreconditionError', 'etcdserver: too many learner members in cluster'), 'Precondition'],
    [named('GRPCNotFoundError', 'etcdserver: member not found'), 'NotFound'],
    [named('GRPCFailedPreconditionError', 'etcdserver: Peer URLs already exists'), 'Conflict'],
    [named('EtcdError', 'etcdserver: not leader'), 'Conflict'],
    [named('EtcdAuthenticationFailedError', 'etcdserver: authentication failed, invalid user ID or password'), 'Unauthorized'],
    [named('EtcdPermissionDeniedError', 'etcdserver: permission denied'), 'Unauthorized'],
    [named('GRPCDeadlineExceededError', '4 DEADLINE_EXCEEDED: Deadline exceeded'), 'Unavailable'],
    [named('GRPCUnavailableError', '14 UNAVAILABLE: No connection established'), 'Unavailable'],
    [named('GRPCFailedPreconditionError', 'etcdserver: bad leader transferee'), 'Precondition'],
  ] as const)('%s -> %s', (err, code) => {
    expect(classifyEtcdError(err)).toBe(code);
  });

  it('wraps with context and keeps the cause', () => {
    const raw = named('GRPCNotFoundError', 'etcdserver: member not found');
    const err = toEtcdError('removing etcd member 42', raw, { memberId: '42' });
    expect(err.code).toBe('NotFound');
    expect(err.message).toBe('removing etcd member 42: etcdserver: member not found');
    expect(err.cause).toBe(raw);
    expect(err.details).toEqual({ memberId: '42' });
  });
});
