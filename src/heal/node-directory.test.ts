import { describe, expect, it } from 'vitest';
import type { Instance } from '../model/snapshot.ts';
import { createNodeDirectory } from './node-directory.ts';

const inst = (id: string): Instance => ({ id, role: 'worker', state: 'running', launchedAt: 0, configHash: 'h', tags: {} });

describe('createNodeDirectory', () => {
  it('shares one read among a flood of lookups, and reads again after maxAge', async () => {
    let now = 1000;
    let lists = 0;
    const dir = createNodeDirectory(
      { clusterExists: async (c) => c === 'prod', listInstances: async () => (lists++, [inst('w1')]) },
      { maxAgeMs: 2000, clock: () => now },
    );
    const results = await Promise.all(Array.from({ length: 50 }, () => dir.lookup('prod')));
    expect(lists).toBe(1);
    expect(results[49]?.instances.map((i) => i.id)).toEqual(['w1']);
    now += 2000;
    await dir.lookup('prod');
    expect(lists).toBe(2);
    expect(await dir.lookup('staging')).toBeUndefined();
  });

  it('does not remember a failed read', async () => {
    let fail = true;
    const dir = createNodeDirectory({
      clusterExists: async () => true,
      listInstances: async () => {
        if (fail) throw new Error('throttled');
        return [inst('w1')];
      },
    });
    await expect(dir.lookup('prod')).rejects.toThrow('throttled');
    fail = false;
    expect((await dir.lookup('prod'))?.instances).toHaveLength(1);
  });
});
