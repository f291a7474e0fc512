// The rendered user-data against the upstream validators a Flatcar user would run:
// ignition-validate of the Ignition release Flatcar ships (v2.22.0) and coreos-cloudinit
// v1.14.0's own validator (its config/validate package), both built from the Go module
// proxy by scripts/setup-validators.sh. Any warning counts as a failure.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeAgentConfig } from '../../src/protocol/agent-config.ts';
import type { Role, Unit } from '../../src/spec/schema.ts';
import { renderUserData, type UserDataFormat } from '../../src/cloudconfig/user-data.ts';
import { selfSignedCaPem } from '../support/openssl-ca.ts';

let tools: { ignition: string; cloudinit: string };
let dir: string;
let n = 0;

beforeAll(() => {
  const out = execFileSync('bash', ['scripts/setup-validators.sh', '--paths'], { encoding: 'utf8', timeout: 600_000 });
  const path = (name: string): string => /^(\w+)=(.*)$/m.exec(out.split('\n').find((l) => l.startsWith(`${name}=`)) ?? '')?.[2] ?? '';
  tools = { ignition: path('IGNITION_VALIDATE'), cloudinit: path('CLOUDINIT_VALIDATE') };
  dir = mkdtempSync(join(tmpdir(), 'sk-validators-'));
}, 600_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The validator's findings (empty when it accepts the text without a warning). */
function findings(format: UserDataFormat, text: string): string[] {
  const file = join(dir, `${n++}.${format === 'ignition' ? 'ign' : 'yml'}`);
  writeFileSync(file, text);
  const r = spawnSync(format === 'ignition' ? tools.ignition : tools.cloudinit, [file], { encoding: 'utf8' });
  const lines = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== '');
  return r.status === 0 ? lines : [`exit ${String(r.status)}`, ...lines];
}

function anAgent(role: Role): NodeAgentConfig {
  return {
    cluster: 'prod',
    role,
    managementEtcd: { endpoints: ['https://10.0.0.5:2379'], prefix: '/swarmkeeper' },
    bootstrapUrl: 'https://controller.internal:8443',
    bootstrapToken: 'skb1.abcdefabcdef.0123456789abcdef0123456789abcdef',
    agentImage: 'registry.example.com:5000/swarmkeeper:0.1.0',
  };
}

const install = '\n[Install]\nWantedBy=multi-user.target\n';
const extraUnits: Unit[] = [
  {
    name: 'vault.service',
    command: 'start',
    content: `[Unit]\nDescription=Vault\n\n[Service]\nExecStart=/usr/bin/docker run --rm --net=host vault:1.15\n${install}`,
  },
  { name: 'backup.timer', command: 'restart', content: `[Timer]\nOnCalendar=daily\n${install}` },
  { name: 'backup.service', content: '[Service]\nType=oneshot\nExecStart=/usr/bin/true\n' },
  { name: 'locksmithd.service', command: 'stop' },
  { name: 'containerd.service', dropIns: [{ name: '20-limits.conf', content: '[Service]\nLimitNOFILE=1048576\n' }] },
];

describe('rendered user-data under the upstream validators', () => {
  const cases = (['manager', 'worker'] as const).flatMap((role) =>
    (['cloud-config', 'ignition'] as const).flatMap((format) => [false, true].map((dockerTls) => [role, format, dockerTls] as const)),
  );
  it.each(cases)('%s, %s, docker TLS %s: accepted without a warning', (role, format, dockerTls) => {
    const { text } = renderUserData({ agent: anAgent(role), units: extraUnits, format, dockerTls });
    expect(findings(format, text)).toEqual([]);
  });

  it.each(['cloud-config', 'ignition'] as const)('%s with a private CA for the bootstrap URL: accepted without a warning', (format) => {
    const ca = selfSignedCaPem('/CN=ops-ca');
    const { text } = renderUserData({ agent: { ...anAgent('manager'), bootstrapCa: ca }, units: extraUnits, format, dockerTls: true });
    expect(text).toContain('bootstrap-ca.pem');
    expect(findings(format, text)).toEqual([]);
  });

  it('the validators can say no: an enabled unit without [Install], an unknown cloud-config key', () => {
    const unit = { name: 'a.service', enabled: true, contents: '[Service]\nExecStart=/bin/true\n' };
    const ign = findings('ignition', JSON.stringify({ ignition: { version: '3.3.0' }, systemd: { units: [unit] } }));
    expect(ign.join('\n')).toMatch(/enabled, but has no install section/);
    expect(findings('cloud-config', '#cloud-config\ncoreos:\n  unitz: []\n').join('\n')).toMatch(/"kind":"warning".*unitz/);
  });

  it('any extra units the spec allows render valid in both formats (property)', () => {
    const unitArb = fc.record(
      {
        name: fc.stringMatching(/^[a-z][a-z0-9-]{0,12}\.(service|timer|path)$/),
        command: fc.constantFrom('start' as const, 'stop' as const, 'restart' as const),
        content: fc
          .tuple(fc.stringMatching(/^[a-z0-9 ./-]{0,40}$/), fc.boolean())
          .map(([arg, withInstall]) => `[Service]\nExecStart=/usr/bin/echo ${arg}\n${withInstall ? install : ''}`),
        dropIns: fc.array(
          fc.record({ name: fc.stringMatching(/^[a-z0-9]{1,8}\.conf$/), content: fc.constant('[Service]\nEnvironment=A=1\n') }),
          { maxLength: 1 },
        ),
      },
      { requiredKeys: ['name'] },
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(unitArb, { selector: (u) => u.name, maxLength: 4 }),
        fc.constantFrom('manager' as const, 'worker' as const),
        (units, role) => {
          expect(findings('cloud-config', renderUserData({ agent: anAgent(role), units }).text)).toEqual([]);
          let ign: string;
          try {
            ign = renderUserData({ agent: anAgent(role), units, format: 'ignition' }).text;
          } catch (err) {
            // A start Ignition cannot honour (no [Install]) is refused, never rendered half-right.
            expect((err as Error).message).toMatch(/cannot be honoured in Ignition/);
            return;
          }
          expect(findings('ignition', ign)).toEqual([]);
        },
      ),
      { numRuns: 25 },
    );
  });
});
