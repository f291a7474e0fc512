// `swarmkeeper plan` run as a user runs it (bin/swarmkeeper.js): offline against saved
// snapshots, and live against a real management etcd holding the spec of a `local`
// cluster that has no instance yet.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aManager, aSnapshot, aSpec, aWorker } from '../unit/builders.ts';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';

const BIN = new URL('../../bin/swarmkeeper.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'sk-plan-'));

function run(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const spec = aSpec({ managers: 3, workers: 2 });
const files = {
  spec: join(dir, 'prod.yaml'),
  dead: join(dir, 'dead.json'),
  ok: join(dir, 'ok.json'),
  bad: join(dir, 'bad.json'),
};

beforeAll(() => {
  writeFileSync(
    files.spec,
    'apiVersion: swarmkeeper.dev/v1alpha1\nkind: SwarmCluster\nmetadata: { name: prod, generation: 1 }\nspec:\n  managers: { count: 3 }\n  workers: { count: 2 }\n  provider: { sim: {} }\n',
  );
  writeFileSync(
    files.dead,
    JSON.stringify(aSnapshot({ spec, nodes: [aManager(), aManager(), aManager({ healthy: false }), aWorker(), aWorker()] })),
  );
  writeFileSync(files.ok, JSON.stringify(aSnapshot({ spec, nodes: [aManager(), aManager(), aManager(), aWorker(), aWorker()] })));
  writeFileSync(
    files.bad,
    JSON.stringify({
      observedAt: 1,
      instances: { status: 'ok', value: [] },
      swarm: { status: 'maybe' },
      etcd: { status: 'ok', value: { members: [] } },
    }),
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('swarmkeeper plan --snapshot', () => {
  it('prints each step with why and its rule; --detailed-exitcode exits 2 when changes are pending', async () => {
    const r = await run(['plan', '--snapshot', files.dead, '--spec', files.spec, '--detailed-exitcode']);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/1\. ~ swarm\.drain m3/);
    expect(r.stdout).toMatch(/2\. - swarm\.demote m3 \[membership change\]/);
    expect(r.stdout).toContain('rule: R6-replace-order');
    expect(r.stdout).toContain('Plan: 0 to add, 1 to change, 1 to remove; 0 held back.');
  });

  it('exits 0 with --detailed-exitcode when there is nothing to do', async () => {
    const r = await run(['plan', '--snapshot', files.ok, '--spec', files.spec, '--detailed-exitcode']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('No changes.');
  });

  it('-o json gives the plan result for machines', async () => {
    const r = await run(['plan', '--snapshot', files.dead, '--spec', files.spec, '-o', 'json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { cluster: string; phase: string; steps: { kind: string; rule: string }[] };
    expect(out.cluster).toBe('prod');
    expect(out.phase).toBe('Degraded');
    expect(out.steps.map((s) => s.kind)).toEqual(['swarm.drain', 'swarm.demote']);
  });

  it('errors exit 1 under --detailed-exitcode and name the file and field', async () => {
    const missing = await run(['plan', '--snapshot', join(dir, 'nope.json'), '--spec', files.spec, '--detailed-exitcode']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nope.json: no such file');
    const bad = await run(['plan', '--snapshot', files.bad, '--spec', files.spec, '--detailed-exitcode']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("swarm.status: expected 'ok' or 'unavailable'");
  });
});

describe('swarmkeeper plan NAME (live)', () => {
  let etcd: EtcdTestCluster | undefined;
  const env = (): Record<string, string> => ({
    SWARMKEEPER_ETCD_ENDPOINTS: etcd?.endpoints.join(',') ?? '',
    SWARMKEEPER_PREFIX: '/sk-plan',
  });

  beforeAll(async () => {
    etcd = await startEtcdCluster({ size: 1 });
  }, 120_000);
  afterAll(async () => {
    await etcd?.stop();
  });

  it('observes the cluster as the controller does and plans the first manager', async () => {
    const local = join(dir, 'local.yaml');
    writeFileSync(
      local,
      `apiVersion: swarmkeeper.dev/v1alpha1\nkind: SwarmCluster\nmetadata: { name: lab }\nspec:\n  managers: { count: 1 }\n  workers: { count: 1 }\n  provider: { local: { baseDir: ${join(dir, 'nodes')} } }\n`,
    );
    const applied = await run(['apply', '-f', local], env());
    expect(applied.code, applied.stderr).toBe(0);
    const r = await run(['plan', 'lab', '--detailed-exitcode'], env());
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toMatch(/\+ instance\.launch 1 manager \(token lab-g1-m0\)/);
    expect(r.stdout).toContain('workers wait until the first manager has initialised the swarm');
    const missing = await run(['plan', 'nosuch'], env());
    expect(missing.code).toBe(1);
  }, 120_000);
});
