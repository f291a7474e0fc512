// What the rendered units make a node do: the image it runs and as whom, how long a pull
// may take, what docker depends on, and how the spec's extra units are commanded.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { NodeAgentConfig } from '../protocol/agent-config.ts';
import type { Unit } from '../spec/schema.ts';
import { PACKAGE_VERSION } from '../version.ts';
import { DEFAULT_AGENT_IMAGE } from './node-model.ts';
import { renderUserData } from './user-data.ts';

function anAgent(o: Partial<NodeAgentConfig> = {}): NodeAgentConfig {
  return {
    cluster: 'prod',
    role: 'manager',
    managementEtcd: { endpoints: ['https://10.0.0.5:2379'], prefix: '/swarmkeeper' },
    bootstrapUrl: 'https://controller.internal:8443',
    bootstrapToken: 'skb1.abcdefabcdef.0123456789abcdef0123456789abcdef',
    ...o,
  };
}

interface CcUnit {
  name: string;
  command?: string;
  enable?: boolean;
  content?: string;
  'drop-ins'?: { name: string; content: string }[];
}

function ccUnits(agent: NodeAgentConfig, units: readonly Unit[] = []): Map<string, CcUnit> {
  const doc = parse(renderUserData({ agent, units }).text) as { coreos: { units: CcUnit[] } };
  return new Map(doc.coreos.units.map((u) => [u.name, u]));
}

interface IgnUnit {
  name: string;
  enabled?: boolean;
}

function ignUnits(agent: NodeAgentConfig, units: readonly Unit[] = []): Map<string, IgnUnit> {
  const doc = JSON.parse(renderUserData({ agent, units, format: 'ignition' }).text) as { systemd: { units: IgnUnit[] } };
  return new Map(doc.systemd.units.map((u) => [u.name, u]));
}

/** A unit file's directives as [key, value] pairs, continuation lines joined. */
function directives(unit: string): [string, string][] {
  return unit
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((l) => /^\w+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
}

const boot = (agent: NodeAgentConfig): string => ccUnits(agent).get('swarmkeeper-bootstrap.service')?.content ?? '';

describe('the agent image', () => {
  it('defaults to the published image of this version, never :latest', () => {
    expect(DEFAULT_AGENT_IMAGE).toBe(`ghcr.io/swarmkeeper/swarmkeeper:${PACKAGE_VERSION}`);
    const unit = boot(anAgent());
    expect(unit).toContain(`${DEFAULT_AGENT_IMAGE} node bootstrap`);
    expect(unit).not.toMatch(/:latest\b/);
  });

  it('refuses an image that is not pinned (latest, or no tag), accepts a tag or a digest in any registry', () => {
    for (const bad of ['registry.example.com/swarmkeeper:latest', 'registry.example.com:5000/swarmkeeper', 'swarmkeeper']) {
      expect(() => renderUserData({ agent: anAgent({ agentImage: bad }), units: [] }), bad).toThrow(
        /pinned to a version tag or a sha256 digest/,
      );
    }
    const digest = `registry.example.com:5000/team/swarmkeeper@sha256:${'a'.repeat(64)}`;
    for (const good of ['127.0.0.5:5000/swarmkeeper:0.1.0', digest])
      expect(boot(anAgent({ agentImage: good }))).toContain(`${good} node bootstrap`);
  });

  it('runs as root (the image defaults to an unprivileged user) with the socket, the token and the data directory mounted', () => {
    const run = directives(boot(anAgent())).find(([k]) => k === 'ExecStart')?.[1] ?? '';
    expect(run).toMatch(/^\/usr\/bin\/docker run .*--user 0:0 /);
    for (const mount of [
      '/var/run/docker.sock:/var/run/docker.sock',
      '/etc/swarmkeeper:/etc/swarmkeeper',
      '/var/lib/swarmkeeper:/var/lib/swarmkeeper',
    ]) {
      expect(run).toContain(`-v ${mount}`);
    }
    expect(run).toContain('--net=host');
    // The image's health check probes the controller's HTTP port, which the agent does not serve.
    expect(run).toContain('--no-healthcheck');
  });

  it('gives the pull a start timeout (a hung pull fails and is retried) and pulls only a missing image', () => {
    const d = directives(boot(anAgent()));
    const timeout = d.find(([k]) => k === 'TimeoutStartSec')?.[1];
    expect(timeout).toBe('5min');
    expect(d.find(([k]) => k === 'Restart')?.[1]).toBe('always');
    const pull = d
      .filter(([k]) => k === 'ExecStartPre')
      .map(([, v]) => v)
      .find((v) => v.includes('docker pull'));
    expect(pull).toMatch(/docker image inspect \S+ >\/dev\/null 2>&1 \|\| exec \/usr\/bin\/docker pull /);
  });
});

describe('docker when instance metadata fails', () => {
  it('does not require the metadata unit and tolerates a missing environment file', () => {
    const dropIn = ccUnits(anAgent()).get('docker.service')?.['drop-ins']?.[0]?.content ?? '';
    const d = directives(dropIn);
    expect(d.filter(([k]) => k === 'Requires' || k === 'BindsTo' || k === 'Requisite')).toEqual([]);
    expect(d).toContainEqual(['Wants', 'swarmkeeper-node-env.service']);
    const envFiles = d.filter(([k]) => k === 'EnvironmentFile').map(([, v]) => v);
    expect(envFiles).toEqual(['-/run/swarmkeeper/node.env']);
  });
});

describe('extra units', () => {
  const withInstall = '[Service]\nExecStart=/bin/true\n\n[Install]\nWantedBy=multi-user.target\n';
  const noInstall = '[Service]\nType=oneshot\nExecStart=/bin/true\n';

  it('cloud-config carries each command as written: start, stop, restart', () => {
    const units = ccUnits(anAgent(), [
      { name: 'a.service', command: 'start', content: withInstall },
      { name: 'locksmithd.service', command: 'stop' },
      { name: 'c.service', command: 'restart', content: withInstall },
    ]);
    expect(units.get('a.service')?.command).toBe('start');
    expect(units.get('locksmithd.service')?.command).toBe('stop');
    expect(units.get('c.service')?.command).toBe('restart');
  });

  it('Ignition enables start and restart units and disables a stopped one', () => {
    const units = ignUnits(anAgent(), [
      { name: 'a.service', command: 'restart', content: withInstall },
      { name: 'locksmithd.service', command: 'stop' },
      { name: 'update-engine.service', command: 'start' },
    ]);
    expect(units.get('a.service')?.enabled).toBe(true);
    expect(units.get('locksmithd.service')?.enabled).toBe(false);
    expect(units.get('update-engine.service')?.enabled).toBe(true);
  });

  it('does not enable a unit whose content has no [Install] section', () => {
    const units = [{ name: 'once.service', content: noInstall }];
    expect(ccUnits(anAgent(), units).get('once.service')?.enable).toBeUndefined();
    expect(ignUnits(anAgent(), units).get('once.service')?.enabled).not.toBe(true);
    expect(ccUnits(anAgent(), [{ name: 'svc.service', content: withInstall }]).get('svc.service')?.enable).toBe(true);
  });

  it('refuses enable: true without [Install], and a start Ignition cannot honour, naming the unit', () => {
    expect(() => renderUserData({ agent: anAgent(), units: [{ name: 'once.service', enable: true, content: noInstall }] })).toThrow(
      /spec\.managers\.units\[0\] \(once\.service\): enable: true needs an \[Install\] section/,
    );
    expect(() =>
      renderUserData({ agent: anAgent(), units: [{ name: 'once.service', command: 'start', content: noInstall }], format: 'ignition' }),
    ).toThrow(/unit once\.service: command start cannot be honoured in Ignition/);
    // cloud-config can: coreos-cloudinit starts it with systemctl.
    expect(ccUnits(anAgent(), [{ name: 'once.service', command: 'start', content: noInstall }]).get('once.service')?.command).toBe('start');
  });
});
