import { execFileSync } from 'node:child_process';
import { selfSignedCaPem } from '../../test/support/openssl-ca.ts';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parse } from 'yaml';
import type { NodeAgentConfig } from '../protocol/agent-config.ts';
import type { Unit } from '../spec/schema.ts';
import { isSwarmkeeperError } from '../errors.ts';
import { renderUserData } from './user-data.ts';
import { ignitionProblems, cloudConfigProblems, USER_DATA_LIMIT_BYTES } from './validate-user-data.ts';

const TOKEN = 'skb1.abcdefabcdef.0123456789abcdef0123456789abcdef';
/** A real (throwaway) self-signed CA certificate. */
const TEST_CA = selfSignedCaPem('/CN=bootstrap-test-ca');

function anAgent(o: Partial<NodeAgentConfig> = {}): NodeAgentConfig {
  return {
    cluster: 'prod',
    role: 'manager',
    managementEtcd: { endpoints: ['http://10.0.0.5:2379'], prefix: '/swarmkeeper' },
    bootstrapUrl: 'https://controller.internal:8443',
    bootstrapToken: TOKEN,
    agentImage: 'registry.example/swarmkeeper:1.2.3',
    ...o,
  };
}

const vault: Unit = {
  name: 'vault.service',
  command: 'start',
  content:
    '[Unit]\nDescription=Vault\n\n[Service]\nExecStart=/usr/bin/docker run --rm --net=host vault:1.15\n\n[Install]\nWantedBy=multi-user.target\n',
};

interface CcUnit {
  name: string;
  command?: string;
  mask?: boolean;
  enable?: boolean;
  content?: string;
  'drop-ins'?: { name: string; content: string }[];
}

function cloudConfigUnits(text: string): CcUnit[] {
  return (parse(text) as { coreos: { units: CcUnit[] } }).coreos.units;
}

describe('cloud-config rendering', () => {
  it('renders a manager: the agent running the etcd member, docker on the local socket only, the extra units', () => {
    const out = renderUserData({ agent: anAgent(), units: [vault] });
    expect(out.text.split('\n')[0]).toBe('#cloud-config');
    expect(cloudConfigProblems(out.text)).toEqual([]);
    const units = cloudConfigUnits(out.text);
    const byName = new Map(units.map((u) => [u.name, u]));
    expect(byName.get('docker-tcp.socket')).toEqual({ name: 'docker-tcp.socket', mask: true });
    const boot = byName.get('swarmkeeper-bootstrap.service');
    expect(boot?.command).toBe('start');
    expect(boot?.content).toContain('etcd voting member');
    // A node that exchanges a token is given no management etcd at all (least privilege).
    expect(boot?.content).toContain('registry.example/swarmkeeper:1.2.3 node bootstrap');
    expect(out.text).not.toMatch(/--etcd-endpoints|--prefix|10\.0\.0\.5:2379/);
    expect(boot?.content).toMatch(/--role manager --cluster prod --instance-id \$\{INSTANCE_ID\} --address \$\{PRIVATE_IPV4\}/);
    expect(boot?.content).toContain(
      '--bootstrap-url https://controller.internal:8443 --bootstrap-token-file /etc/swarmkeeper/bootstrap-token',
    );
    expect(byName.get('swarmkeeper-node-env.service')?.content).toContain('ExecStart=/opt/swarmkeeper/bin/node-env.sh');
    const script = (parse(out.text) as { write_files: { path: string; permissions: string; content: string }[] }).write_files.find(
      (f) => f.path === '/opt/swarmkeeper/bin/node-env.sh',
    );
    expect(script?.permissions).toBe('0755');
    expect(script?.content).toContain('--metrics-addr=%s:9323');
    expect(script?.content).toContain('--label=swarmkeeper.instance=%s --label=swarmkeeper.cluster=prod --label=swarmkeeper.role=manager');
    expect(byName.get('vault.service')?.command).toBe('start');
    expect(byName.get('docker.service')?.['drop-ins']?.[0]?.content).toContain('EnvironmentFile=-/run/swarmkeeper/node.env');
    // Docker's API: no TCP listener anywhere in what the node gets.
    expect(out.text).not.toMatch(/-H[ =]?tcp:|tcp:\/\/0\.0\.0\.0|:2375/);
    expect(out.size.rawBytes).toBeLessThan(USER_DATA_LIMIT_BYTES);
  });

  it('renders a worker whose agent runs an etcd gateway instead of a member', () => {
    const units = cloudConfigUnits(renderUserData({ agent: anAgent({ role: 'worker' }), units: [] }).text);
    const boot = units.find((u) => u.name === 'swarmkeeper-bootstrap.service')?.content ?? '';
    expect(boot).toContain('etcd gateway to the managers');
    expect(boot).toContain('--role worker');
    expect(boot).not.toContain('voting member');
  });

  it('leaves the exchange flags out when the agent gets no bootstrap token (local-style config)', () => {
    const { bootstrapToken: _t, bootstrapUrl: _u, ...agent } = anAgent();
    const out = renderUserData({ agent, units: [] });
    expect(out.text).not.toContain('--bootstrap-url');
    expect(out.text).not.toContain('--bootstrap-token-file');
    expect(out.text).toContain(
      'registry.example/swarmkeeper:1.2.3 --etcd-endpoints http://10.0.0.5:2379 --prefix /swarmkeeper node bootstrap',
    );
    expect((parse(out.text) as { write_files: { path: string }[] }).write_files.map((f) => f.path)).toEqual([
      '/opt/swarmkeeper/bin/node-env.sh',
    ]);
  });

  it('refuses values that would break out of a unit command line', () => {
    expect(() => renderUserData({ agent: anAgent({ agentImage: 'img; rm -rf /' }), units: [] })).toThrow(/agentImage contains characters/);
    expect(() =>
      renderUserData({ agent: anAgent({ managementEtcd: { endpoints: ['http://a:1 $(x)'], prefix: '/p' } }), units: [] }),
    ).toThrow(/endpoints/);
  });

  it('puts the bootstrap token only in a root-only file, never in a unit', () => {
    const out = renderUserData({ agent: anAgent(), units: [] });
    const doc = parse(out.text) as { write_files: { path: string; permissions: string; content: string }[] };
    const holders = doc.write_files.filter((f) => f.content.includes(TOKEN));
    expect(holders.map((f) => [f.path, f.permissions])).toEqual([['/etc/swarmkeeper/bootstrap-token', '0600']]);
    // systemd expands $VAR and %x in unit command lines: no unit may carry shell variables
    // or printf formats meant for a shell (the metadata script is a file of its own).
    for (const u of cloudConfigUnits(out.text)) expect(u.content ?? '', u.name).not.toMatch(/\$\((?!\{)|%s|\$[a-z]/);
    expect(out.text.split(TOKEN)).toHaveLength(2);
    expect(out.text).not.toContain('SWMTKN');
  });

  it('writes a private CA for the bootstrap URL beside the token, public, and points the agent at it', () => {
    const out = renderUserData({ agent: anAgent({ bootstrapCa: TEST_CA }), units: [] });
    const doc = parse(out.text) as { write_files: { path: string; permissions: string; content: string }[] };
    expect(doc.write_files.filter((f) => f.path === '/etc/swarmkeeper/bootstrap-ca.pem').map((f) => [f.permissions, f.content])).toEqual([
      ['0644', TEST_CA],
    ]);
    const unit = cloudConfigUnits(out.text).find((u) => u.name === 'swarmkeeper-bootstrap.service')?.content ?? '';
    expect(unit.replace(/\\\n\s*/g, ' ')).toContain(
      '--bootstrap-token-file /etc/swarmkeeper/bootstrap-token --bootstrap-ca-file /etc/swarmkeeper/bootstrap-ca.pem',
    );
    // Without a CA: no file, no flag (the system store is used).
    expect(renderUserData({ agent: anAgent(), units: [] }).text).not.toContain('bootstrap-ca');
    // Ignition carries the same file with the same mode.
    const ign = JSON.parse(renderUserData({ agent: anAgent({ bootstrapCa: TEST_CA }), units: [], format: 'ignition' }).text) as {
      storage: { files: { path: string; mode: number }[] };
    };
    expect(ign.storage.files.find((f) => f.path === '/etc/swarmkeeper/bootstrap-ca.pem')?.mode).toBe(0o644);
  });

  it('refuses a bootstrap CA for a plain http:// URL, and a bundle that holds a key', () => {
    expect(() =>
      renderUserData({ agent: anAgent({ bootstrapUrl: 'http://controller.internal:8080', bootstrapCa: TEST_CA }), units: [] }),
    ).toThrow(/not https:\/\/: nodes would never use it/);
    expect(() =>
      renderUserData({
        agent: anAgent({ bootstrapCa: `${TEST_CA}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n` }),
        units: [],
      }),
    ).toThrow(/holds a private key/);
  });

  it('adds docker over mutual TLS on managers only when asked, never a plain TCP listener', () => {
    const plain = renderUserData({ agent: anAgent(), units: [] }).text;
    expect(plain).not.toContain('tcp://');
    expect(plain).not.toContain('swarmkeeper-docker-tls');
    const tls = renderUserData({ agent: anAgent(), units: [], dockerTls: true });
    const names = cloudConfigUnits(tls.text).map((u) => u.name);
    expect(names).toEqual(expect.arrayContaining(['swarmkeeper-docker-tls.path', 'swarmkeeper-docker-tls.service']));
    const env =
      (parse(tls.text) as { write_files: { path: string; content: string }[] }).write_files.find(
        (f) => f.path === '/opt/swarmkeeper/bin/node-env.sh',
      )?.content ?? '';
    expect(env).toContain('-H=tcp://$ip:2376 --tlsverify --tlscacert=/etc/swarmkeeper/tls/ca.pem');
    // The metadata script is valid bash, with TLS on and off.
    execFileSync('bash', ['-n'], { input: env });
    execFileSync('bash', ['-n'], {
      input:
        (parse(plain) as { write_files: { path: string; content: string }[] }).write_files.find(
          (f) => f.path === '/opt/swarmkeeper/bin/node-env.sh',
        )?.content ?? 'exit 1(',
    });
    for (const line of tls.text.split('\n').filter((l) => l.includes('tcp://'))) expect(line).toContain('--tlsverify');
    expect(tls.text).toContain('--docker-tls-dir /etc/swarmkeeper/tls');
    expect(ignitionProblems(renderUserData({ agent: anAgent(), units: [], dockerTls: true, format: 'ignition' }).text)).toEqual([]);
    const worker = renderUserData({ agent: anAgent({ role: 'worker' }), units: [], dockerTls: true }).text;
    expect(worker).not.toContain('tcp://');
  });

  it('refuses an extra unit that reuses a swarmkeeper unit name', () => {
    expect(() =>
      renderUserData({ agent: anAgent(), units: [{ name: 'swarmkeeper-bootstrap.service', content: '[Service]\nExecStart=/bin/true\n' }] }),
    ).toThrow(/declared twice/);
  });

  it('refuses user-data over the 16 KB limit, naming the limit', () => {
    const big: Unit = { name: 'big.service', content: `[Service]\nExecStart=/bin/true\n# ${'x'.repeat(8000)}\n` };
    const big2: Unit = { ...big, name: 'big2.service' };
    try {
      renderUserData({ agent: anAgent(), units: [big, big2] });
      expect.unreachable();
    } catch (err) {
      expect(isSwarmkeeperError(err, 'SpecInvalid')).toBe(true);
      expect((err as Error).message).toMatch(/over EC2's 16384-byte user-data limit/);
    }
  });
});

describe('Ignition rendering', () => {
  it('validates against the 3.3.0 schema and carries the same units and files', () => {
    const agent = anAgent();
    const ign = renderUserData({ agent, units: [vault], format: 'ignition' });
    expect(ignitionProblems(ign.text)).toEqual([]);
    const doc = JSON.parse(ign.text) as {
      ignition: { version: string };
      systemd: { units: { name: string; mask?: boolean }[] };
      storage: { files: { path: string; mode: number; contents: { source: string } }[] };
    };
    expect(doc.ignition.version).toBe('3.3.0');
    const cc = cloudConfigUnits(renderUserData({ agent, units: [vault] }).text);
    expect(doc.systemd.units.map((u) => u.name)).toEqual(cc.map((u) => u.name));
    const token = doc.storage.files.find((f) => f.path === '/etc/swarmkeeper/bootstrap-token');
    expect(token?.mode).toBe(0o600);
    expect(Buffer.from(token?.contents.source.replace('data:;base64,', '') ?? '', 'base64').toString()).toBe(`${TOKEN}\n`);
    expect(ign.size.rawBytes).toBeLessThan(USER_DATA_LIMIT_BYTES);
  });

  it('the schema check fails on a broken config (the validator can say no)', () => {
    const doc = JSON.parse(renderUserData({ agent: anAgent(), units: [], format: 'ignition' }).text) as Record<string, unknown>;
    expect(ignitionProblems(JSON.stringify({ ...doc, ignition: { version: '2.2.0' } })).length).toBeGreaterThan(0);
    expect(ignitionProblems(JSON.stringify({ ...doc, systemd: { units: [{ enabled: true }] } })).join()).toMatch(/name/);
    expect(ignitionProblems(JSON.stringify({ ...doc, storage: { files: [{ path: 'relative', mode: 420 }] } })).join()).toMatch(/pattern/);
  });
});

describe('both formats from one node model (property)', () => {
  const unitArb = fc.record({
    name: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}\.(service|timer|path)$/),
    command: fc.option(fc.constantFrom('start' as const, 'stop' as const, 'restart' as const), { nil: undefined }),
    content: fc.option(
      fc
        .tuple(fc.stringMatching(/^[ -~]{0,200}$/), fc.boolean())
        .map(([s, install]) => `[Service]\nExecStart=/bin/echo ${s}\n${install ? '\n[Install]\nWantedBy=multi-user.target\n' : ''}`),
      { nil: undefined },
    ),
    dropIns: fc.option(
      fc.array(fc.record({ name: fc.stringMatching(/^[a-z0-9]{1,10}\.conf$/), content: fc.stringMatching(/^[ -~\n]{0,100}$/) }), {
        maxLength: 2,
      }),
      { nil: undefined },
    ),
  });
  it('renders valid cloud-config and Ignition with the same unit names for any extra units', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(unitArb, { selector: (u) => u.name, maxLength: 6 }),
        fc.constantFrom('manager' as const, 'worker' as const),
        (units, role) => {
          const agent = anAgent({ role });
          const cc = renderUserData({ agent, units });
          // Ignition can start a unit at boot only by enabling it, which needs [Install].
          const unstartable = units.some(
            (u) => (u.command === 'start' || u.command === 'restart') && u.content !== undefined && !u.content.includes('[Install]'),
          );
          if (unstartable) {
            expect(() => renderUserData({ agent, units, format: 'ignition' })).toThrow(/cannot be honoured in Ignition/);
            return;
          }
          const ign = renderUserData({ agent, units, format: 'ignition' });
          expect(cloudConfigProblems(cc.text)).toEqual([]);
          expect(ignitionProblems(ign.text)).toEqual([]);
          const ignNames = (JSON.parse(ign.text) as { systemd: { units: { name: string }[] } }).systemd.units.map((u) => u.name);
          expect(ignNames).toEqual(cloudConfigUnits(cc.text).map((u) => u.name));
        },
      ),
      { numRuns: 100 },
    );
  });
});
