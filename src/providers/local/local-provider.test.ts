import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveSpec } from '../../spec/defaults.ts';
import { deleteRecord, listRecords, readRecord, writeRecord, type InstanceRecord } from './instance-records.ts';
import { instanceIdOf, instanceStateOf, LocalProvider } from './local-provider.ts';
import { agentArgv } from './node-processes.ts';
import { checkLocalPrerequisites } from './preflight.ts';
import { writeTokenLedger } from './token-ledger.ts';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'lp-'));
  dirs.push(d);
  return d;
}
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function aRecord(overrides: Partial<InstanceRecord> = {}): InstanceRecord {
  return {
    id: 'lc-0000000001',
    cluster: 'demo',
    role: 'manager',
    address: '127.200.0.2',
    configHash: 'abc',
    clientToken: 'demo-g1-m0',
    launchIndex: 0,
    launchedAt: 1_000,
    nodeDir: '/tmp/sk/n/lc-0000000001',
    phase: 'running',
    pids: { dockerd: 10, agent: 11 },
    ...overrides,
  };
}

describe('instance records', () => {
  it('round-trip, list oldest first, delete', () => {
    const base = tempDir();
    writeRecord(base, aRecord({ id: 'lc-b', launchedAt: 2_000 }));
    writeRecord(base, aRecord({ id: 'lc-a', launchedAt: 3_000 }));
    writeRecord(base, aRecord({ id: 'lc-c', launchedAt: 1_000, cluster: 'other' }));
    expect(listRecords(base, 'demo').map((r) => r.id)).toEqual(['lc-b', 'lc-a']);
    expect(readRecord(base, 'demo', 'lc-a')).toEqual(aRecord({ id: 'lc-a', launchedAt: 3_000 }));
    deleteRecord(base, 'demo', 'lc-a');
    expect(readRecord(base, 'demo', 'lc-a')).toBeUndefined();
    expect(listRecords(base, 'nothing')).toEqual([]);
  });
  it('refuses a damaged record with its path rather than listing partially', () => {
    const base = tempDir();
    writeRecord(base, aRecord());
    writeFileSync(join(base, 'state', 'demo', 'lc-bad.json'), '{"id":1}');
    expect(() => listRecords(base, 'demo')).toThrow(/lc-bad\.json: field id/);
  });
});

describe('instance state', () => {
  it('shows a dead dockerd as stopped, so the planner replaces the node at once', () => {
    expect(instanceStateOf('running', { dockerd: true, agent: true })).toBe('running');
    expect(instanceStateOf('running', { dockerd: true, agent: false })).toBe('running');
    expect(instanceStateOf('running', { dockerd: false, agent: true })).toBe('stopped');
    expect(instanceStateOf('launching', undefined)).toBe('pending');
    // Spawned, dockerd not answering yet: pending however long it takes, stopped once its dockerd is gone.
    expect(instanceStateOf('booting', { dockerd: true, agent: false })).toBe('pending');
    expect(instanceStateOf('booting', { dockerd: false, agent: false })).toBe('stopped');
    expect(instanceStateOf('terminating', undefined)).toBe('shutting-down');
  });
  it('derives short deterministic ids from state dir, cluster, token and index', () => {
    const a = instanceIdOf('/tmp/sk', 'demo', 'demo-g1-m0', 0);
    expect(a).toMatch(/^lc-[0-9a-f]{10}$/);
    expect(instanceIdOf('/tmp/sk', 'demo', 'demo-g1-m0', 0)).toBe(a);
    const others = [
      instanceIdOf('/tmp/sk', 'demo', 'demo-g1-m0', 1),
      instanceIdOf('/tmp/sk', 'demo', 'demo-g1-m1', 0),
      instanceIdOf('/tmp/sk', 'x', 'demo-g1-m0', 0),
      instanceIdOf('/tmp/skd-2', 'demo', 'demo-g1-m0', 0),
    ];
    expect(new Set([a, ...others]).size).toBe(5);
  });
});

describe('LocalProvider without processes', () => {
  const spec = resolveSpec('demo', 1, { managers: { count: 1 }, workers: { count: 0 }, provider: { local: {} } });
  const agent = { cluster: 'demo', role: 'manager' as const, managementEtcd: { endpoints: ['http://127.0.0.1:2379'], prefix: '/sk' } };

  it('lists records with liveness: a record whose dockerd is not running is stopped', async () => {
    const base = tempDir();
    writeRecord(base, aRecord({ nodeDir: join(base, 'n', 'lc-0000000001') }));
    const p = new LocalProvider({ baseDir: base, skipPreflight: true });
    const [i] = await p.list('demo');
    expect(i).toMatchObject({ id: 'lc-0000000001', state: 'stopped', statusChecksOk: false, address: '127.200.0.2' });
    expect(p.dockerEndpoint(i!)).toEqual({ socketPath: join(base, 'n', 'lc-0000000001', 'd.sock') });
    expect(p.etcdClientUrl(i!)).toBe('http://127.200.0.2:2379');
  });
  it('lists a booting record whose spawned dockerd is gone as stopped, without status checks', async () => {
    const base = tempDir();
    writeRecord(base, aRecord({ nodeDir: join(base, 'n', 'lc-0000000001'), phase: 'booting', pids: { dockerd: 2 ** 22 + 1 } }));
    const [i] = await new LocalProvider({ baseDir: base, skipPreflight: true }).list('demo');
    expect(i).toMatchObject({ state: 'stopped' });
    expect(i).not.toHaveProperty('statusChecksOk');
    expect(readRecord(base, 'demo', 'lc-0000000001')?.phase).toBe('booting');
  });
  it('answers a spent token with what is left of its launch and starts nothing', async () => {
    const base = tempDir();
    writeTokenLedger(base, 'demo', 'demo-g1-m0', ['lc-gone']);
    const p = new LocalProvider({ baseDir: base, skipPreflight: true });
    await expect(p.launch({ spec, role: 'manager', count: 1, clientToken: 'demo-g1-m0', configHash: 'h', agent })).resolves.toEqual([]);
  });
  it('refuses bad launch requests naming the field', async () => {
    const p = new LocalProvider({ baseDir: tempDir(), skipPreflight: true });
    await expect(p.launch({ spec, role: 'manager', count: 0, clientToken: 't', configHash: 'h', agent })).rejects.toThrow(
      /count must be 1\.\.64/,
    );
    await expect(p.launch({ spec, role: 'manager', count: 1, clientToken: 'a b', configHash: 'h', agent })).rejects.toThrow(/clientToken/);
    const noEtcd = { ...agent, managementEtcd: { endpoints: [], prefix: '/sk' } };
    await expect(p.launch({ spec, role: 'manager', count: 1, clientToken: 't', configHash: 'h', agent: noEtcd })).rejects.toThrow(
      /management etcd endpoint/,
    );
  });
  it('terminating an instance that is gone resolves', async () => {
    const p = new LocalProvider({ baseDir: tempDir(), skipPreflight: true });
    await expect(p.terminate('demo', 'lc-nothing')).resolves.toBeUndefined();
  });
  it('takes baseDir and addressBlock from the spec', () => {
    const p = LocalProvider.fromSpec({ baseDir: '/tmp/skx', addressBlock: 9 });
    expect(p.baseDir).toBe('/tmp/skx');
  });
});

describe('preflight', () => {
  it('says exactly what to install and that root is needed', () => {
    const r = checkLocalPrerequisites({ PATH: tempDir() }, 1000);
    expect(r.problems).toEqual([
      'dockerd was not found in PATH: install it with `apt-get install docker.io`',
      'etcd was not found in PATH: install it with `apt-get install etcd-server`',
      'umount was not found in PATH: install it with `apt-get install mount`',
      'the local provider starts dockerd, which needs root: run swarmkeeper as root (sudo), or use the sim provider',
    ]);
  });
});

describe('agent command line', () => {
  it('passes the management etcd as global flags and the node identity to node bootstrap', () => {
    const argv = agentArgv({
      agent: {
        cluster: 'demo',
        role: 'worker',
        managementEtcd: { endpoints: ['http://127.9.0.2:2379', 'http://127.9.0.3:2379'], prefix: '/sk' },
      },
      instanceId: 'lc-1',
      address: '127.200.0.7',
      nodeDir: '/tmp/sk/n/lc-1',
      command: ['swarmkeeper'],
    });
    expect(argv.join(' ')).toBe(
      'swarmkeeper --etcd-endpoints http://127.9.0.2:2379,http://127.9.0.3:2379 --prefix /sk --log-level info node bootstrap ' +
        '--role worker --cluster demo --instance-id lc-1 --address 127.200.0.7 --docker-host unix:///tmp/sk/n/lc-1/d.sock --data-dir /tmp/sk/n/lc-1/agent',
    );
  });
});
