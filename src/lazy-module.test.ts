import type * as ClientNode from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { isSwarmkeeperError } from './errors.ts';
import { lazyModule, lazyPackage } from './lazy-module.ts';

describe('lazyModule', () => {
  it('imports once and hands the same module to every caller', async () => {
    let imports = 0;
    const load = lazyModule('spec.thing', async () => {
      imports += 1;
      return import('./errors.ts');
    });
    const [a, b] = await Promise.all([load(), load()]);
    expect(a).toBe(b);
    expect(await load()).toBe(a);
    expect(imports).toBe(1);
  });

  it('a module that cannot be loaded is an error naming the option that needs it, and a later call tries again', async () => {
    let attempts = 0;
    const missing = 'swarmkeeper-no-such-package';
    const load = lazyModule('spec.backup.store.s3 (backups in S3)', () => {
      attempts += 1;
      return import(missing) as Promise<unknown>;
    });
    await expect(load()).rejects.toSatisfy(
      (e) =>
        isSwarmkeeperError(e, 'Internal') &&
        /^spec\.backup\.store\.s3 \(backups in S3\) needs a module that could not be loaded: .*swarmkeeper-no-such-package/.test(
          (e as Error).message,
        ),
    );
    await expect(load()).rejects.toThrow(/could not be loaded/);
    expect(attempts).toBe(2);
  });
});

describe('lazyPackage', () => {
  it('loads an ES module package synchronously, the same instance import() gives', async () => {
    const load = lazyPackage<typeof ClientNode>('--spec-source kubernetes', '@kubernetes/client-node');
    expect(load()).toBe(load());
    expect(load().KubeConfig).toBe((await import('@kubernetes/client-node')).KubeConfig);
  });

  it('a package that cannot be loaded is an error naming the option that needs it', () => {
    const load = lazyPackage<unknown>('--spec-source kubernetes (the Kubernetes client)', 'swarmkeeper-no-such-package');
    expect(() => load()).toThrow(
      /^--spec-source kubernetes \(the Kubernetes client\) needs a module that could not be loaded: .*swarmkeeper-no-such-package/,
    );
  });
});
