import { describe, expect, it } from 'vitest';
import { assertStaticBusybox, busyboxLayerTar, canBuildBusyboxImage } from './busybox-image.ts';
import { serviceSpec, SLEEPER_COMMAND } from './services.ts';

describe('the busybox image', () => {
  it('refuses a dynamically linked busybox, naming the package to install', () => {
    expect(() => assertStaticBusybox('/bin/sh')).toThrow(/dynamically linked.*busybox-static/);
    expect(() => assertStaticBusybox('/nonexistent/busybox')).toThrow(/apt-get install busybox-static/);
    expect(canBuildBusyboxImage('/bin/sh')).toBe(false);
  });

  it.runIf(canBuildBusyboxImage())('builds the same layer twice (fixed owners and times)', () => {
    const a = busyboxLayerTar('/bin/busybox');
    expect(a.equals(busyboxLayerTar('/bin/busybox'))).toBe(true);
    expect(a.includes(Buffer.from('bin/sleep'))).toBe(true);
  });
});

describe('serviceSpec', () => {
  it('makes replicated, global and constrained services with a quick stop', () => {
    expect(serviceSpec({ name: 'web', image: 'r/busybox:local', replicas: 6 })).toMatchObject({
      Name: 'web',
      Mode: { Replicated: { Replicas: 6 } },
      TaskTemplate: { ContainerSpec: { Image: 'r/busybox:local', Command: SLEEPER_COMMAND } },
    });
    const pinned = serviceSpec({ name: 'agent', image: 'i', constraints: ['node.role==worker'], maxPerNode: 1 });
    expect(pinned).toMatchObject({
      Mode: { Global: {} },
      TaskTemplate: { Placement: { Constraints: ['node.role==worker'], MaxReplicas: 1 } },
    });
  });

  it('refuses a replica count that is not a whole number', () => {
    expect(() => serviceSpec({ name: 'web', image: 'i', replicas: 1.5 })).toThrow(/service web: replicas must be a whole number/);
  });
});
