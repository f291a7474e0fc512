// The disaster-recovery drill, on real processes (local provider: dockerd, etcd members,
// node agents; a real controller; the `swarmkeeper` CLI as an operator runs it):
// a 3-manager + 1-worker cluster, keys written to its etcd, a service (plus a network, a
// config and a secret) deployed, a backup taken; then kill -9 of every manager (agent,
// etcd, dockerd, containerd). A truncated backup is refused by `recover` and nothing
// changes; `swarmkeeper recover` from the good one brings the cluster back to Ready with
// every key written before the snapshot, the service running, the network and config
// re-created and the secret named for the operator to provide again.
// RPO (the snapshot's age at the loss) and RTO (recover to Ready) are printed.
import { spawn } from 'node:child_process';
import { cpSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../../src/backup/backup-catalog.ts';
import { DirectoryStore } from '../../src/backup/directory-store.ts';
import { recoveryKeys } from '../../src/backup/recovery-order-kv.ts';
import { parseEndpoints } from '../../src/protocol/cluster-endpoints.ts';
import type { Instance } from '../../src/model/snapshot.ts';
import { clusterKeys } from '../../src/store/keys.ts';
import { dockerdPaths, dockerdPid } from '../../src/swarm/dockerd-process.ts';
import { waitServicesRunning } from '../../src/workload/services.ts';
import { aManager, deployServices } from '../support/cluster-workloads.ts';
import { startControllerHarness, type ControllerHarness } from '../support/controller-harness.ts';
import { startTestRegistry, type TestRegistry } from '../support/registry.ts';
import { until } from '../support/until.ts';

const NAME = 'drill';
const CLI = new URL('../../bin/swarmkeeper.js', import.meta.url).pathname;
const KEYS_BEFORE = 50;
let h: ControllerHarness;
let registry: TestRegistry;

beforeAll(async () => {
  [h, registry] = await Promise.all([startControllerHarness({ block: 219 }), startTestRegistry()]);
  await h.startController('c1');
  await h.apply(NAME, 3, 1, { backup: { intervalSeconds: 3600 } });
  await h.waitConverged(NAME, 3, 1, 300_000);
}, 360_000);

afterAll(async () => {
  await h?.stop();
  await registry?.stop();
}, 180_000);

/** `swarmkeeper ARGS` against the harness's management etcd; resolves with its exit and output. */
function sk(args: readonly string[], timeoutMs = 600_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, '--etcd-endpoints', h.mgmt.endpoints.join(','), '--prefix', h.prefix, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (process.env.SWARMKEEPER_TEST_LOG) process.stderr.write(d);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The cluster's own etcd, through the endpoints currently published for it. */
async function clusterEtcd(): Promise<Etcd3> {
  const text = await h.client.get(clusterKeys(h.prefix, NAME).endpoints).string();
  if (!text) throw new Error('no endpoints published');
  return new Etcd3({ hosts: [...parseEndpoints(text).etcdClientURLs], dialTimeout: 5_000 });
}

/** A dead machine: its agent first (so nothing restarts etcd), then etcd, dockerd and containerd, all SIGKILL. */
function killMachine(inst: Instance): void {
  const nodeDir = inst.tags['swarmkeeper.local/node-dir']!;
  const pidIn = (file: string): number | undefined => {
    try {
      return Number.parseInt(readFileSync(file, 'utf8'), 10) || undefined;
    } catch {
      return undefined;
    }
  };
  const pids = [
    pidIn(join(nodeDir, 'agent.pid')),
    pidIn(join(nodeDir, 'agent', 'etcd.pid')),
    dockerdPid(nodeDir),
    pidIn(join(dockerdPaths(nodeDir).execRoot, 'containerd', 'containerd.pid')),
  ];
  for (const pid of pids) {
    try {
      if (pid) process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

describe('disaster recovery drill: every manager lost, recovered from a backup', () => {
  it('kill -9 every manager; a damaged backup is refused; recover -> Ready, keys and service back', async () => {
    const testStart = Date.now();
    const image = await registry.pushBusybox();
    const etcd = await clusterEtcd();
    try {
      for (let i = 0; i < KEYS_BEFORE; i++) await etcd.put(`/drill/before/${String(i).padStart(3, '0')}`).value(`v${i}`);
    } finally {
      etcd.close();
    }
    await deployServices(h.provider, NAME, [{ name: 'web', image, replicas: 2 }], 180_000);
    const manager = await aManager(h.provider, NAME);
    await manager.createNetwork({ Name: 'drill-net', Driver: 'overlay', Attachable: true, Labels: { drill: 'yes' } });
    await manager.createConfig({ Name: 'drill-conf', Data: Buffer.from('answer=42\n').toString('base64') });
    await manager.createSecret({ Name: 'drill-secret', Data: Buffer.from('not in any backup').toString('base64') });

    const created = await sk(['backup', 'create', NAME, '-o', 'name']);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const backup = created.stdout.trim().replace(/^backup\//, '');
    const store = new DirectoryStore(join(h.baseDir, 'backups'));
    const manifest = await readManifest(store, NAME, backup);
    expect(manifest.swarm).toMatchObject({ services: 1, networks: 1, configs: 1, secrets: 1 });

    // Written after the snapshot: what the RPO costs (these are expected to be gone).
    const late = await clusterEtcd();
    try {
      await late.put('/drill/after/0').value('lost');
    } finally {
      late.close();
    }

    // The loss: every manager's processes, kill -9.
    const managers = (await h.instances(NAME)).filter((i) => i.role === 'manager');
    expect(managers).toHaveLength(3);
    const lossAt = Date.now();
    for (const m of managers) killMachine(m);
    const rpoMs = lossAt - Date.parse(manifest.takenAt);
    await until('the controller to freeze on the lost quorum', async () => (await h.status(NAME))?.phase === 'Frozen', {
      timeoutMs: 120_000,
    });

    // A backup of another cluster is a usage error (exit 2).
    const otherCluster = await sk(['recover', NAME, '--from', 'prod-20261201t120000000z-scheduled']);
    expect(otherCluster.code).toBe(2);
    expect(otherCluster.stderr).toMatch(/belongs to cluster prod, not drill/);

    // A truncated backup is refused with a clear error, and nothing changes.
    const damaged = backup.replace(/-manual$/, '-scheduled');
    cpSync(join(h.baseDir, 'backups', NAME, backup), join(h.baseDir, 'backups', NAME, damaged), { recursive: true });
    const manifestFile = join(h.baseDir, 'backups', NAME, damaged, 'manifest.json');
    writeFileSync(manifestFile, JSON.stringify({ ...JSON.parse(readFileSync(manifestFile, 'utf8')), name: damaged }));
    const dbFile = join(h.baseDir, 'backups', NAME, damaged, 'etcd.db');
    truncateSync(dbFile, Math.floor(readFileSync(dbFile).byteLength / 2));
    const before = (await h.instances(NAME)).map((i) => `${i.id}:${i.state}`).sort();
    const refused = await sk(['recover', NAME, '--from', damaged]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/etcd\.db is truncated/);
    expect((await h.instances(NAME)).map((i) => `${i.id}:${i.state}`).sort()).toEqual(before);
    expect(await h.client.get(recoveryKeys(h.prefix, NAME).order).string()).toBeNull();

    // The recovery, as the operator runs it; it returns once the cluster is Ready.
    const recoverStart = Date.now();
    const out = await sk(['recover', NAME, '--from', backup, '--timeout', '10m']);
    const rtoMs = Date.now() - recoverStart;
    if (out.code !== 0) throw new Error(`recover failed (${out.code}):\n${out.stdout}\n${out.stderr}`);
    expect(out.stdout).toMatch(/verified/);
    expect(out.stdout).toMatch(/terminated 3 manager\(s\) and 1 worker\(s\)/);
    expect(out.stdout).toMatch(/re-created 1 network\(s\), 1 config\(s\), 1 service\(s\)/);
    expect(out.stdout).toMatch(/secrets to provide again.*drill-secret/);
    expect(out.stdout).toMatch(new RegExp(`recovered from backup/${backup}: Ready`));

    const status = await h.waitConverged(NAME, 3, 1, 60_000);
    const lost = new Set([...managers.map((m) => m.id)]);
    expect(status.nodes?.some((n) => lost.has(n.instanceId))).toBe(false);
    expect(await h.client.get(recoveryKeys(h.prefix, NAME).order).string()).toBeNull();

    const restored = await clusterEtcd();
    try {
      const kvs = await restored.getAll().prefix('/drill/before/').strings();
      expect(Object.keys(kvs)).toHaveLength(KEYS_BEFORE);
      for (let i = 0; i < KEYS_BEFORE; i++) expect(kvs[`/drill/before/${String(i).padStart(3, '0')}`]).toBe(`v${i}`);
      expect(await restored.get('/drill/after/0').string()).toBeNull();
      // Three voting members again, grown from the restored founder.
      const members = (await restored.cluster.memberList({})).members ?? [];
      expect(members.filter((m) => !m.isLearner)).toHaveLength(3);
    } finally {
      restored.close();
    }

    const newManager = await aManager(h.provider, NAME);
    await waitServicesRunning(newManager, ['web'], 180_000);
    expect((await newManager.listNetworks({ filters: { name: ['drill-net'] } })).map((n) => n.Name)).toContain('drill-net');
    expect(((await newManager.listConfigs({})) as { Spec: { Name: string } }[]).map((c) => c.Spec.Name)).toContain('drill-conf');

    console.log(
      `recover drill: RPO ${(rpoMs / 1000).toFixed(1)}s (snapshot age at the loss), RTO ${(rtoMs / 1000).toFixed(1)}s (recover to Ready), test ${((Date.now() - testStart) / 1000).toFixed(0)}s\n${out.stdout}`,
    );
  }, 900_000);
});
