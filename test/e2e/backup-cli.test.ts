// `swarmkeeper backup list|describe|create` as a user runs them: bin/swarmkeeper.js against
// a real management etcd, backups in the local provider's default directory store, the
// etcd snapshot a real one. A truncated backup is refused by describe with a clear
// error (exit 1) and nothing is changed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryStore } from '../../src/backup/directory-store.ts';
import { takeBackup } from '../../src/backup/take-backup.ts';
import { silentLogger } from '../../src/log.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';
import { resolveSpec } from '../../src/spec/defaults.ts';
import { etcdFencedKv } from '../../src/store/fenced-kv.ts';
import { etcdOnlySnapshot } from '../support/backup-fixtures.ts';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';

const BIN = new URL('../../bin/swarmkeeper.js', import.meta.url).pathname;
const PREFIX = '/sk-backup-e2e';
let etcd: EtcdTestCluster;
let dir: string;
let names: string[] = [];

function sk(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input: args.includes('-f') ? spec() : undefined,
    encoding: 'utf8',
    env: { ...process.env, SWARMKEEPER_ETCD_ENDPOINTS: etcd.endpoints.join(','), SWARMKEEPER_PREFIX: PREFIX },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function spec(): string {
  return `apiVersion: swarmkeeper.dev/v1alpha1
kind: SwarmCluster
metadata: { name: prod }
spec:
  managers: { count: 1 }
  workers: { count: 0 }
  provider: { local: { baseDir: ${JSON.stringify(dir)} } }
  backup: { intervalSeconds: 600 }
`;
}

const observed = (): Snapshot => etcdOnlySnapshot(etcd.members[0]);

beforeAll(async () => {
  etcd = await startEtcdCluster({ size: 1 });
  dir = mkdtempSync(join(tmpdir(), 'sk-bcli-'));
  expect(sk(['apply', '-f', '-']).code).toBe(0);
  // Two backups of a real etcd into the directory store the spec names by default.
  const client = etcd.client();
  await client.put('/app/k').value('v');
  const resolved = resolveSpec('prod', 1, {
    managers: { count: 1 },
    workers: { count: 0 },
    provider: { local: { baseDir: dir } },
    backup: {},
  });
  for (const i of [0, 1]) {
    const m = await takeBackup({
      spec: resolved,
      purpose: i === 0 ? 'scheduled' : 'pre-change',
      membership: 'm',
      snapshot: observed(),
      dockerEndpoint: () => ({ socketPath: '/nonexistent' }),
      mgmt: etcdFencedKv(client),
      prefix: PREFIX,
      now: () => Date.now() + i * 2000,
      logger: silentLogger(),
      store: new DirectoryStore(join(dir, 'backups')),
    });
    names.push(m.name);
  }
  names = names.reverse(); // newest first
  client.close();
}, 120_000);

afterAll(async () => {
  await etcd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('swarmkeeper backup', () => {
  it('list: a table newest first, -o name, -o json', () => {
    const table = sk(['backup', 'list', 'prod']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+PURPOSE\s+AGE\s+SIZE\s+ETCD REVISION\s+SERVICES$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(names);
    expect(lines[1]).toMatch(/pre-change/);
    expect(sk(['backup', 'list', 'prod', '-o', 'name']).stdout).toBe(names.map((n) => `backup/${n}\n`).join(''));
    const json = JSON.parse(sk(['backup', 'list', 'prod', '-o', 'json']).stdout) as { items: { name: string; artifacts: unknown[] }[] };
    expect(json.items.map((i) => i.name)).toEqual(names);
  });

  it('describe: verifies checksums and the etcd snapshot, shows the store and its encryption', () => {
    const r = sk(['backup', 'describe', names[0] ?? '']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Cluster:\s+prod/);
    expect(r.stdout).toContain(`Store:         directory ${join(dir, 'backups')}`);
    expect(r.stdout).toMatch(/etcd\.db\s+\d+ bytes\s+sha256 [0-9a-f]{64}/);
    expect(r.stdout).toContain('Verified:      every checksum matches; the etcd snapshot restores');
  });

  it('describe refuses a truncated backup with a clear error and changes nothing', () => {
    const folder = join(dir, 'backups', 'prod', names[1] ?? '');
    const file = join(folder, 'etcd.db');
    truncateSync(file, statSync(file).size - 10);
    const before = readdirSync(folder).sort();
    const r = sk(['backup', 'describe', names[1] ?? '']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/etcd\.db is truncated \(\d+ bytes, the manifest says \d+\); refusing it/);
    expect(readdirSync(folder).sort()).toEqual(before);
    expect(sk(['backup', 'list', 'prod', '-o', 'name']).stdout.trim().split('\n')).toHaveLength(2);
  });

  it('usage errors exit 2; create without a healthy member says why and exits 1', () => {
    const bad = sk(['backup', 'describe', 'not-a-backup']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/is not a backup name/);
    const create = sk(['backup', 'create', 'prod']);
    expect(create.code).toBe(1);
    expect(create.stderr).toMatch(/no healthy etcd voter to take a snapshot from/);
    const missing = sk(['backup', 'list', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/"nope" not found/);
  });
});
