import { describe, expect, it } from 'vitest';
import { demoCluster } from './demo-spec.ts';
import { validateCluster } from '../../spec/validate.ts';

describe('demo spec', () => {
  it('is a valid SwarmCluster', () => {
    expect(validateCluster(demoCluster({ provider: { local: { baseDir: '/tmp/skd', addressBlock: 200 } } }))).toMatchObject({ ok: true });
    expect(demoCluster({ workers: 3, provider: { sim: { seed: 1 } } }).spec.workers.count).toBe(3);
  });
});
