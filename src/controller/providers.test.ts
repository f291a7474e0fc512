import { describe, expect, it } from 'vitest';
import { isSwarmkeeperError } from '../errors.ts';
import { silentLogger } from '../log.ts';
import { resolveSpec } from '../spec/defaults.ts';
import { providerForSpec } from './providers.ts';

describe('providerForSpec', () => {
  it('an ec2 cluster gets the EC2 provider, loaded at its first call (here to a loopback port that refuses it)', async () => {
    const spec = resolveSpec('lazy', 1, {
      managers: { count: 1 },
      workers: { count: 0 },
      provider: {
        ec2: {
          region: 'eu-west-1',
          endpoint: 'http://127.0.0.1:1',
          imageId: 'ami-0123456789abcdef0',
          subnetIds: ['subnet-0123456789abcdef0'],
          securityGroupIds: ['sg-0123456789abcdef0'],
        },
      },
    });
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'testing';
    process.env.AWS_SECRET_ACCESS_KEY = 'testing';
    const provider = providerForSpec(spec, { logger: silentLogger() });
    try {
      expect(provider.name).toBe('ec2');
      await expect(provider.list('lazy')).rejects.toSatisfy((e) => isSwarmkeeperError(e, 'Unavailable'));
    } finally {
      await provider.close();
      process.env.AWS_ACCESS_KEY_ID = saved.id;
      process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
    }
  }, 60_000);
});
