// `swarmkeeper render-cloud-config` as a user runs it (bin/swarmkeeper.js in a child
// process): the spec from a real management etcd, or from -f FILE; the output is the
// user-data a node would get, with the placeholder token, and valid.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliRun } from '../support/cli-run.ts';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';
import { EtcdClusterStore } from '../../src/store/etcd-store.ts';
import { cloudConfigProblems, ignitionProblems, USER_DATA_LIMIT_BYTES } from '../../src/cloudconfig/validate-user-data.ts';
import { PACKAGE_VERSION } from '../../src/version.ts';

const PREFIX = '/sk-render';
let etcd: EtcdTestCluster;
let dir: string;

const cluster = {
  apiVersion: 'swarmkeeper.dev/v1alpha1',
  kind: 'SwarmCluster',
  metadata: { name: 'prod' },
  spec: {
    managers: {
      count: 3,
      units: [
        {
          name: 'vault.service',
          command: 'start',
          content:
            '[Unit]\nDescription=Vault\n[Service]\nExecStart=/usr/bin/docker run --rm --net=host vault:1.15 server\n[Install]\nWantedBy=multi-user.target\n',
        },
      ],
    },
    workers: { count: 5 },
    provider: {
      ec2: {
        region: 'eu-west-1',
        imageId: 'ami-0123456789abcdef0',
        subnetIds: ['subnet-0123456789abcdef0'],
        securityGroupIds: ['sg-0123456789abcdef0'],
      },
    },
  },
};

const sk = (args: string[]): CliRun => runCli({ endpoints: etcd.endpoints, prefix: PREFIX }, args);

beforeAll(async () => {
  etcd = await startEtcdCluster({ size: 1 });
  dir = mkdtempSync(join(tmpdir(), 'sk-render-'));
  const client = etcd.client();
  const store = new EtcdClusterStore(client, { prefix: PREFIX });
  await store.apply(cluster);
  await store.close();
}, 120_000);

afterAll(async () => {
  await etcd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('swarmkeeper render-cloud-config', () => {
  it('renders a manager from the spec in etcd, with the placeholder token and the extra unit', () => {
    const r = sk(['render-cloud-config', 'prod', '--role', 'manager']);
    expect(r.stderr).toMatch(/cloud-config for a manager of prod: \d+ bytes \(\d+ base64-encoded\); EC2 allows 16384 before encoding/);
    expect(r.code).toBe(0);
    expect(cloudConfigProblems(r.stdout)).toEqual([]);
    expect(Buffer.byteLength(r.stdout)).toBeLessThan(USER_DATA_LIMIT_BYTES);
    const doc = parse(r.stdout) as {
      coreos: { units: { name: string; content?: string }[] };
      write_files: { path: string; content: string }[];
    };
    expect(doc.coreos.units.map((u) => u.name)).toContain('vault.service');
    expect(doc.write_files.find((f) => f.path === '/etc/swarmkeeper/bootstrap-token')?.content).toBe(
      'PLACEHOLDER-one-time-bootstrap-token-issued-per-launch\n',
    );
    // Exchanging nodes get no management etcd access: the agent is given the bootstrap URL only.
    const boot = doc.coreos.units.find((u) => u.name === 'swarmkeeper-bootstrap.service')?.content ?? '';
    expect(boot).toContain(`ghcr.io/swarmkeeper/swarmkeeper:${PACKAGE_VERSION} node bootstrap`);
    expect(boot).not.toContain(etcd.endpoints[0]);
  });

  it('renders Ignition for a worker from a file', () => {
    const file = join(dir, 'cluster.json');
    writeFileSync(file, JSON.stringify(cluster));
    const r = sk(['render-cloud-config', 'prod', '--role', 'worker', '--format', 'ignition', '-f', file]);
    expect(r.code).toBe(0);
    expect(ignitionProblems(r.stdout)).toEqual([]);
    expect(r.stdout).not.toContain('vault.service');
  });

  it('says what is wrong: unknown cluster, wrong role, a file of another cluster', () => {
    const missing = sk(['render-cloud-config', 'nope', '--role', 'manager']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cluster nope not found/);
    const role = sk(['render-cloud-config', 'prod', '--role', 'boss']);
    expect(role.code).toBe(2);
    expect(role.stderr).toMatch(/manager, worker/);
    const file = join(dir, 'other.json');
    writeFileSync(file, JSON.stringify({ ...cluster, metadata: { name: 'other' } }));
    const other = sk(['render-cloud-config', 'prod', '--role', 'manager', '-f', file]);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/describes cluster other, not prod/);
  });
});
