import { describe, expect, it } from 'vitest';
import { isSwarmkeeperError } from '../errors.ts';
import { EtcdMembership } from './etcd-membership.ts';

function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isSwarmkeeperError(err, 'Usage')) return err.message;
    throw err;
  }
  throw new Error('expected a Usage error');
}

describe('EtcdMembership options', () => {
  it('needs at least one http(s) endpoint', () => {
    expect(usageError(() => new EtcdMembership({ endpoints: [] }))).toMatch(/no endpoints/);
    expect(usageError(() => new EtcdMembership({ endpoints: ['127.0.0.1:2379'] }))).toMatch(/127\.0\.0\.1:2379 is not an http/);
  });
  it('names the TLS file it cannot read', () => {
    expect(usageError(() => new EtcdMembership({ endpoints: ['https://127.0.0.1:2379'], tls: { caFile: '/nonexistent/ca.pem' } }))).toMatch(
      /CA file \/nonexistent\/ca\.pem/,
    );
  });
  it('wants a client certificate and key together, and a CA', () => {
    expect(usageError(() => new EtcdMembership({ endpoints: ['https://127.0.0.1:2379'], tls: { ca: 'pem', cert: 'pem' } }))).toMatch(
      /both/,
    );
    expect(usageError(() => new EtcdMembership({ endpoints: ['https://127.0.0.1:2379'], tls: { cert: 'pem', key: 'pem' } }))).toMatch(/CA/);
  });
  it('refuses to add a learner without a peer URL', async () => {
    const etcd = new EtcdMembership({ endpoints: ['http://127.31.255.254:2379'] });
    await expect(etcd.addLearner([])).rejects.toSatisfy((e: unknown) => isSwarmkeeperError(e, 'Usage'));
    await etcd.close();
  });
});
