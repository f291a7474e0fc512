// The etcd process helpers against the real etcd binary: attached and detached
// processes, pid files, health, and the test-cluster helper with TLS and auth.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkEtcdHealth, runningEtcdPid, startEtcdProcess, stopEtcdByPidFile } from '../../src/etcd/etcd-process.ts';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import { ETCD_TEST_BLOCK, startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('startEtcdProcess', () => {
  it('starts a detached etcd that writes a pid file and is stopped by it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sk-etcdp-'));
    const address = reserveLoopback({ block: ETCD_TEST_BLOCK });
    cleanups.push(() => {
      rmSync(dir, { recursive: true, force: true });
      releaseLoopback(address);
    });
    const pidFile = join(dir, 'etcd.pid');
    cleanups.push(async () => void (await stopEtcdByPidFile(pidFile)));
    const proc = await startEtcdProcess({
      name: 'solo',
      dataDir: join(dir, 'data'),
      clientUrls: [`http://${address}:2379`],
      peerUrl: `http://${address}:2380`,
      detached: true,
      pidFile,
      logFile: join(dir, 'etcd.log'),
    });
    expect(Number(readFileSync(pidFile, 'utf8'))).toBe(proc.pid);
    expect(runningEtcdPid(pidFile)).toBe(proc.pid);
    expect(await checkEtcdHealth(proc.clientUrl)).toBe(true);
    // Its own session: the process group id is its pid (setsid), not ours.
    const pgid = execFileSync('ps', ['-o', 'pgid=', '-p', String(proc.pid)], { encoding: 'utf8' }).trim();
    expect(Number(pgid)).toBe(proc.pid);
    expect(readFileSync(join(dir, 'etcd.log'), 'utf8')).toMatch(/serving client traffic/);

    expect(await stopEtcdByPidFile(pidFile)).toBe(true);
    expect(existsSync(pidFile)).toBe(false);
    expect(await checkEtcdHealth(proc.clientUrl)).toBe(false);
    expect(await stopEtcdByPidFile(pidFile)).toBe(false);
  });

  it('keeps a detached etcd running after the process that started it has exited', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sk-etcdp-'));
    const address = reserveLoopback({ block: ETCD_TEST_BLOCK });
    const pidFile = join(dir, 'etcd.pid');
    cleanups.push(async () => {
      await stopEtcdByPidFile(pidFile);
      rmSync(dir, { recursive: true, force: true });
      releaseLoopback(address);
    });
    const script = join(dir, 'start.mts');
    writeFileSync(
      script,
      `import { startEtcdProcess } from ${JSON.stringify(new URL('../../src/etcd/etcd-process.ts', import.meta.url).pathname)};\n` +
        `const p = await startEtcdProcess({ name: 'orphan', dataDir: ${JSON.stringify(join(dir, 'data'))}, clientUrls: ['http://${address}:2379'], peerUrl: 'http://${address}:2380', detached: true, pidFile: ${JSON.stringify(pidFile)} });\n` +
        `process.stdout.write(String(p.pid));\n`,
    );
    const tsx = new URL('../../node_modules/.bin/tsx', import.meta.url).pathname;
    const pid = Number(execFileSync(tsx, [script], { encoding: 'utf8', timeout: 120_000 }));
    expect(pid).toBeGreaterThan(0);
    // The starter has exited (execFileSync returned); etcd lives on and still answers.
    expect(runningEtcdPid(pidFile)).toBe(pid);
    expect(await checkEtcdHealth(`http://${address}:2379`)).toBe(true);
    expect(await stopEtcdByPidFile(pidFile)).toBe(true);
    expect(await checkEtcdHealth(`http://${address}:2379`)).toBe(false);
  });

  it('fails with the log tail when etcd cannot start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sk-etcdp-'));
    const address = reserveLoopback({ block: ETCD_TEST_BLOCK });
    cleanups.push(() => {
      rmSync(dir, { recursive: true, force: true });
      releaseLoopback(address);
    });
    await expect(
      startEtcdProcess({
        name: 'bad',
        dataDir: join(dir, 'data'),
        clientUrls: [`http://${address}:2379`],
        peerUrl: `http://${address}:2380`,
        extraArgs: ['--no-such-flag'],
        startTimeoutMs: 20_000,
      }),
    ).rejects.toThrow(/exited \(code 2\) before it was ready; last lines of .*etcd/);
  });

  it('refuses to health-check a non-loopback address', async () => {
    await expect(checkEtcdHealth('http://10.1.2.3:2379')).rejects.toThrow(/loopback/);
  });
});

describe('startEtcdCluster', () => {
  it('runs a 3-member cluster that survives a member restart', async () => {
    const etcd: EtcdTestCluster = await startEtcdCluster({ size: 3 });
    cleanups.push(() => etcd.stop());
    const client = etcd.client();
    cleanups.push(() => client.close());
    await client.put('k').value('v1');
    expect((await client.cluster.memberList({})).members).toHaveLength(3);
    await etcd.killMember(0);
    await client.put('k').value('v2');
    await etcd.restartMember(0);
    expect(await checkEtcdHealth(etcd.endpoints[0] as string)).toBe(true);
    expect(await client.get('k').string()).toBe('v2');
    await etcd.stop();
    expect(existsSync(etcd.dir)).toBe(false);
  });

  it('serves TLS with client certificates and username/password auth', async () => {
    const etcd = await startEtcdCluster({ size: 1, tls: true, auth: { rootPassword: 'pw-s3cret' } });
    cleanups.push(() => etcd.stop());
    expect(etcd.endpoints[0]).toMatch(/^https:\/\/127\./);
    const client = etcd.client();
    cleanups.push(() => client.close());
    await client.put('a').value('b');
    expect(await client.get('a').string()).toBe('b');
    const out = execFileSync('etcdctl', ['get', 'a', '--print-value-only'], {
      env: { ...process.env, ...etcd.etcdctlEnv() },
      encoding: 'utf8',
    });
    expect(out.trim()).toBe('b');
    // Wrong password refused.
    const bad = execFileSync('sh', ['-c', 'etcdctl get a 2>&1 || true'], {
      env: { ...process.env, ...etcd.etcdctlEnv(), ETCDCTL_USER: 'root:wrong' },
      encoding: 'utf8',
    });
    expect(bad).toMatch(/authentication failed/);
  });
});
