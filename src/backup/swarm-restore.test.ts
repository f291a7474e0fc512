import { describe, expect, it } from 'vitest';
import { remapServiceSpec, type SwarmObjects } from './swarm-restore.ts';
import type { SwarmExport } from './swarm-state.ts';

const old: SwarmExport = {
  exportedAt: '2026-12-01T12:00:00.000Z',
  services: [],
  networks: [{ Id: 'net-old', Name: 'backend' }],
  configs: [{ ID: 'cfg-old', Spec: { Name: 'app-conf', Data: 'eA==' } }],
  secrets: [{ ID: 'sec-old', Name: 'db-password' }],
};

function objects(o: Partial<SwarmObjects> = {}): SwarmObjects {
  return {
    networks: new Map([['backend', 'net-new']]),
    configs: new Map([['app-conf', 'cfg-new']]),
    secrets: new Map(),
    services: new Set(),
    ...o,
  };
}

const spec = {
  Name: 'web',
  TaskTemplate: {
    ContainerSpec: {
      Image: 'busybox',
      Configs: [{ ConfigID: 'cfg-old', ConfigName: 'app-conf', File: { Name: '/app.conf' } }],
      Secrets: [{ SecretID: 'sec-old', SecretName: 'db-password', File: { Name: 'db' } }],
    },
    Networks: [{ Target: 'net-old', Aliases: ['web'] }],
  },
};

describe('remapServiceSpec: old ids to the new swarm objects of the same name', () => {
  it('maps networks and configs, and reports a secret that is not on the new swarm', () => {
    const out = remapServiceSpec(spec, old, objects());
    const task = out.spec.TaskTemplate as {
      Networks: { Target: string; Aliases: string[] }[];
      ContainerSpec: { Configs: { ConfigID: string }[] };
    };
    expect(task.Networks).toEqual([{ Target: 'net-new', Aliases: ['web'] }]);
    expect(task.ContainerSpec.Configs[0]?.ConfigID).toBe('cfg-new');
    expect(out.missingSecrets).toEqual(['db-password']);
    // The exported spec itself is left as it was.
    expect(spec.TaskTemplate.Networks[0]?.Target).toBe('net-old');
  });

  it('maps a secret the operator created again by name', () => {
    const out = remapServiceSpec(spec, old, objects({ secrets: new Map([['db-password', 'sec-new']]) }));
    expect(out.missingSecrets).toEqual([]);
    const secrets = (out.spec.TaskTemplate as { ContainerSpec: { Secrets: { SecretID: string; SecretName: string }[] } }).ContainerSpec
      .Secrets;
    expect(secrets).toEqual([{ SecretID: 'sec-new', SecretName: 'db-password', File: { Name: 'db' } }]);
  });
});
