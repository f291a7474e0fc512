// The pure parts of bench/converge-ec2.ts: the baseline's user-data brings docker up
// exactly as swarmkeeper's does (same metadata script, same drop-in) and nothing else,
// and the phase summaries and log-line reading the bench prints.
import { describe, expect, it } from 'vitest';
import { baselineUserData } from '../../bench/ec2-baseline-user-data.ts';
import { describeLogLine, spanBetween, summarisePhase } from '../../bench/ec2-node-timeline.ts';
import { renderUserData } from '../../src/cloudconfig/user-data.ts';
import { NODE_ENV_SCRIPT, TLS_DIR } from '../../src/cloudconfig/node-model.ts';
import { ignitionProblems } from '../../src/cloudconfig/validate-user-data.ts';
import type { Role } from '../../src/spec/schema.ts';

interface IgnitionConfig {
  storage: { files: { path: string; mode: number; contents: { source: string } }[] };
  systemd: { units: { name: string; mask?: boolean; contents?: string; dropins?: { name: string; contents: string }[] }[] };
}

const parse = (text: string): IgnitionConfig => JSON.parse(text) as IgnitionConfig;
const fileText = (c: IgnitionConfig, path: string): string | undefined => {
  const f = c.storage.files.find((x) => x.path === path);
  return f ? Buffer.from(f.contents.source.replace(/^data:;base64,/, ''), 'base64').toString('utf8') : undefined;
};

/** What swarmkeeper's EC2 provider renders for the role (exchange on, docker TLS for managers). */
function swarmkeeperUserData(role: Role): IgnitionConfig {
  return parse(
    renderUserData({
      agent: {
        cluster: 'bench',
        role,
        managementEtcd: { endpoints: ['127.0.0.1:2379'], prefix: '/swarmkeeper' },
        bootstrapUrl: 'https://127.0.0.1:8443',
        bootstrapToken: 'skb1.testtokenid.0123456789abcdef0123456789abcdef',
        agentImage: '127.0.0.1:5000/swarmkeeper:0.1.0',
      },
      units: [],
      format: 'ignition',
      dockerTls: true,
    }).text,
  );
}

const TLS = { caPem: 'CA PEM\n', certPem: 'CERT PEM\n', keyPem: 'KEY PEM\n' };

describe('the EC2 baseline user-data', () => {
  for (const role of ['manager', 'worker'] as const) {
    it(`brings a ${role}'s docker up as swarmkeeper's does, with nothing of swarmkeeper's agent`, () => {
      const text = baselineUserData({ cluster: 'bench', role, ...(role === 'manager' ? { tls: TLS } : {}) });
      expect(ignitionProblems(text)).toEqual([]);
      const baseline = parse(text);
      const sk = swarmkeeperUserData(role);
      expect(fileText(baseline, NODE_ENV_SCRIPT)).toBe(fileText(sk, NODE_ENV_SCRIPT));
      const unit = (c: IgnitionConfig, name: string) => c.systemd.units.find((u) => u.name === name);
      for (const name of ['swarmkeeper-node-env.service', 'docker.service', 'docker-tcp.socket'])
        expect(unit(baseline, name)).toEqual(unit(sk, name));
      expect(baseline.systemd.units.map((u) => u.name).sort()).toEqual([
        'docker-tcp.socket',
        'docker.service',
        'swarmkeeper-node-env.service',
      ]);
      expect(baseline.storage.files.map((f) => f.path)).not.toContain('/etc/swarmkeeper/bootstrap-token');
    });
  }

  it("ships a manager's TLS files, the key readable by root only, so docker serves TLS from its first start", () => {
    const c = parse(baselineUserData({ cluster: 'bench', role: 'manager', tls: TLS }));
    expect(fileText(c, `${TLS_DIR}/ca.pem`)).toBe(TLS.caPem);
    expect(fileText(c, `${TLS_DIR}/server.pem`)).toBe(TLS.certPem);
    expect(fileText(c, `${TLS_DIR}/server-key.pem`)).toBe(TLS.keyPem);
    expect(c.storage.files.find((f) => f.path === `${TLS_DIR}/server-key.pem`)?.mode).toBe(0o600);
    // The metadata script turns TLS on when server.pem is there.
    expect(fileText(c, NODE_ENV_SCRIPT)).toContain(`if [ -s ${TLS_DIR}/server.pem ]`);
  });
});

describe('phase summaries', () => {
  it('gives the time every node got there and the median node, from t0', () => {
    expect(summarisePhase([1300, 1100, 1200], 1000)).toEqual({ all: 300, median: 200 });
  });

  it('gives nothing when a node never got there, or there are no nodes', () => {
    expect(summarisePhase([1300, undefined], 1000)).toBeUndefined();
    expect(summarisePhase([], 1000)).toBeUndefined();
  });

  it('measures a span from the last node of one phase to a moment or the last node of another', () => {
    expect(spanBetween({ all: 5000, median: 4000 }, 7500)).toBe(2500);
    expect(spanBetween({ all: 5000, median: 4000 }, { all: 9000, median: 8000 })).toBe(4000);
    expect(spanBetween(undefined, 7500)).toBeUndefined();
  });

  it("reads a pino line's message with its reason, and other output as it is", () => {
    expect(describeLogLine('{"level":30,"msg":"Waiting","reason":"no init claim yet"}')).toBe('Waiting: no init claim yet');
    expect(describeLogLine('{"level":50,"msg":"Failed","err":{"message":"boom"}}')).toBe('Failed: boom');
    expect(describeLogLine('Status: Downloaded newer image')).toBe('Status: Downloaded newer image');
  });
});
