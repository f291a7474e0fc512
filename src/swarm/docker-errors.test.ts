import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SwarmkeeperError } from '../errors.ts';
import { classifyDockerError, scrubSecrets, toSwarmError } from './docker-errors.ts';

/** An error shaped the way docker-modem builds them. */
function modemError(statusCode: number, message: string): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message} `), { statusCode, json: { message } });
}

describe('classifyDockerError', () => {
  it.each([
    [modemError(404, 'node abc not found'), 'NotFound'],
    [modemError(500, 'rpc error: code = Unknown desc = update out of sequence'), 'Conflict'],
    [
      modemError(
        503,
        'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.',
      ),
      'Unavailable',
    ],
    [
      modemError(503, 'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.'),
      'Conflict',
    ],
    [
      modemError(
        400,
        'rpc error: code = FailedPrecondition desc = node x is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal',
      ),
      'Conflict',
    ],
    [modemError(400, "rpc error: code = FailedPrecondition desc = node abc is not down and can't be removed"), 'Conflict'],
    [modemError(503, 'You are attempting to leave the swarm on a node that is participating as a manager.'), 'Conflict'],
    [modemError(500, 'invalid join token'), 'Unauthorized'],
    [modemError(400, 'rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster'), 'Unauthorized'],
    [Object.assign(new Error('connect ENOENT /tmp/sk-x/d.sock'), { code: 'ENOENT' }), 'Unavailable'],
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:2376'), { code: 'ECONNREFUSED' }), 'Unavailable'],
    [new Error('socket hang up'), 'Unavailable'],
    [
      Object.assign(new Error('ssl3_read_bytes:sslv3 alert bad certificate'), { code: 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE' }),
      'Unauthorized',
    ],
    [Object.assign(new Error('unable to verify the first certificate'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }), 'Unauthorized'],
    [modemError(500, 'something odd'), 'Unavailable'],
    [new TypeError('x is not a function'), 'Internal'],
  ] as const)('%s -> %s', (err, code) => {
    expect(classifyDockerError(err)).toBe(code);
  });
});

describe('toSwarmError (fault injected: dockerd echoing the join token)', () => {
  const token = 'SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx';
  it('cuts the token from message, cause and details, keeping the code', () => {
    const raw = modemError(500, `invalid join token ${token} for 127.30.0.2:2377`);
    const err = toSwarmError('joining the swarm', raw, [token]);
    expect(err).toBeInstanceOf(SwarmkeeperError);
    expect(err.code).toBe('Unauthorized');
    const text = `${err.message} ${String(err.cause)} ${JSON.stringify(err.details)} ${JSON.stringify(err)}`;
    expect(text).not.toContain(token);
    expect(text).not.toContain('3pu6hszjas19');
    expect(err.message).toContain('joining the swarm: invalid join token SWMTKN-[redacted]');
    expect(err.details).toEqual({ statusCode: 500 });
  });
  it('never leaves any swarm token in any message (property)', () => {
    const tokenArb = fc
      .tuple(fc.stringMatching(/^[0-9a-z]{50}$/), fc.stringMatching(/^[0-9a-z]{25}$/))
      .map(([a, b]) => `SWMTKN-1-${a}-${b}`);
    fc.assert(
      fc.property(fc.string(), tokenArb, fc.string(), (before, tok, after) => {
        const scrubbed = scrubSecrets(`${before}${tok}${after}`);
        expect(scrubbed).not.toContain(tok);
      }),
    );
  });
  it('cuts secrets given explicitly, even when they do not look like swarm tokens', () => {
    expect(scrubSecrets('bad token hunter2-secret-value here', ['hunter2-secret-value'])).toBe('bad token [redacted] here');
  });
});
