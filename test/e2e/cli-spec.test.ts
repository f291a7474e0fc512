// The spec commands as a user runs them: bin/swarmkeeper.js against a real etcd.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCluster } from '../../src/spec/codec.ts';
import { clusterKeys } from '../../src/store/keys.ts';
import { aSwarmCluster, withField } from '../support/spec-fixtures.ts';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';

const BIN = new URL('../../bin/swarmkeeper.js', import.meta.url).pathname;
const PREFIX = '/sk-e2e';
let etcd: EtcdTestCluster;
let dir: string;

beforeAll(async () => {
  etcd = await startEtcdCluster({ size: 1 });
  dir = mkdtempSync(join(tmpdir(), 'sk-cli-'));
});
afterAll(async () => {
  await etcd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// Parsed CLI output: read loosely, asserted precisely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sk(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input: opts.input,
    encoding: 'utf8',
    env: { ...process.env, VISUAL: '', SWARMKEEPER_ETCD_ENDPOINTS: etcd.endpoints.join(','), SWARMKEEPER_PREFIX: PREFIX, ...opts.env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

function etcdctl(...args: string[]): string {
  return execFileSync('etcdctl', args, { env: { ...process.env, ...etcd.etcdctlEnv() }, encoding: 'utf8' });
}

describe('swarmkeeper validate', () => {
  it('accepts a valid file and stdin', () => {
    const f = file('ok.yaml', formatCluster(aSwarmCluster(), 'yaml'));
    expect(sk(['validate', '-f', f])).toMatchObject({ code: 0, stdout: 'swarmcluster.swarmkeeper.dev/prod is valid\n' });
    expect(sk(['validate', '-f', '-'], { input: formatCluster(aSwarmCluster(), 'json') }).code).toBe(0);
  });

  it('names the field, the rule and the line of a syntax error', () => {
    const bad = sk(['validate', '-f', file('bad.yaml', formatCluster(withField(aSwarmCluster(), 'spec.managers.count', 4), 'yaml'))]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('spec.managers.count: must be one of 1, 3, 5, 7 (odd, at most 7), got 4');
    const syntax = sk(['validate', '-f', file('syntax.yaml', 'apiVersion: x\nkind: [oops\n')]);
    expect(syntax.code).toBe(1);
    expect(syntax.stderr).toMatch(/syntax\.yaml: YAML syntax error at line \d+, column \d+/);
    expect(sk(['validate', '-f', join(dir, 'missing.yaml')])).toMatchObject({ code: 1, stderr: expect.stringMatching(/no such file/) });
  });

  it('exits 2 on usage errors and 0 on --help for every command', () => {
    expect(sk(['validate']).code).toBe(2);
    expect(sk(['get', '-o', 'xml']).code).toBe(2);
    for (const c of ['validate', 'apply', 'get', 'edit', 'delete']) {
      const h = sk([c, '--help']);
      expect(h.code, c).toBe(0);
      expect(h.stdout).toMatch(/^Usage: swarmkeeper /);
    }
  });
});

describe('apply, get, edit, delete round-trip', () => {
  it('applies, reports created/unchanged/configured, and prints the object like kubectl', () => {
    const f = file('prod.yaml', formatCluster(aSwarmCluster(), 'yaml'));
    expect(sk(['apply', '-f', f])).toMatchObject({ code: 0, stdout: 'swarmcluster.swarmkeeper.dev/prod created\n' });
    expect(sk(['apply', '-f', f]).stdout).toBe('swarmcluster.swarmkeeper.dev/prod unchanged\n');
    expect(sk(['apply', '-f', '-'], { input: formatCluster(withField(aSwarmCluster(), 'spec.workers.count', 4), 'yaml') }).stdout).toBe(
      'swarmcluster.swarmkeeper.dev/prod configured\n',
    );

    const table = sk(['get']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+MANAGERS\s+WORKERS\s+PHASE\s+AGE\n/);
    expect(table.stdout).toMatch(/\nprod\s+0\/3\s+0\/4\s+Pending\s+\d+s\n/);
    expect(sk(['get', '-o', 'wide']).stdout).toMatch(/PROVIDER\s+GENERATION\s+OBSERVED\s+SPEC-VALID\nprod .*local\s+2\s+-\s+True/);

    const y = parse(sk(['get', 'prod', '-o', 'yaml']).stdout) as Obj;
    expect(Object.keys(y)).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(y.metadata).toMatchObject({ name: 'prod', generation: 2 });
    expect(y.metadata.resourceVersion).toMatch(/^\d+$/);
    const j = JSON.parse(sk(['get', 'prod', '-o', 'json']).stdout) as Obj;
    expect(j.spec.workers.count).toBe(4);
    expect(JSON.parse(sk(['get', '-o', 'json']).stdout)).toMatchObject({ kind: 'List', items: [{ metadata: { name: 'prod' } }] });
    expect(sk(['get', 'nope'])).toMatchObject({ code: 1, stderr: 'error: swarmclusters.swarmkeeper.dev "nope" not found\n' });
  });

  it('refuses an invalid spec with the field path and writes nothing', () => {
    const before = etcdctl('get', clusterKeys(PREFIX, 'prod').spec, '-w', 'json');
    const r = sk([
      'apply',
      '-f',
      file('bad2.yaml', formatCluster(withField(withField(aSwarmCluster(), 'spec.workers.count', -3), 'spec.extra', 1), 'yaml')),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('spec.workers.count: must be at least 0, got -3');
    expect(r.stderr).toContain('spec.extra: unknown field');
    const after = etcdctl('get', clusterKeys(PREFIX, 'prod').spec, '-w', 'json');
    expect(JSON.parse(after).kvs[0].mod_revision).toBe(JSON.parse(before).kvs[0].mod_revision);
  });

  it('edits through $EDITOR, re-opening with the errors on invalid input', () => {
    const state = join(dir, 'editor-state');
    const editor = file(
      'editor.sh',
      [
        '#!/bin/sh',
        'n=$(cat "$STATE" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$STATE"',
        'cp "$1" "$STATE.seen-$n"',
        'case $n in',
        '  1) sed -i "s/count: 3/count: 4/" "$1" ;;', // invalid: even managers
        '  2) sed -i "s/count: 4/count: 5/" "$1" ;;', // fixed
        'esac',
      ].join('\n'),
    );
    chmodSync(editor, 0o755);
    const r = sk(['edit', 'prod'], { env: { EDITOR: editor, STATE: state } });
    expect(r).toMatchObject({ code: 0, stdout: 'swarmcluster.swarmkeeper.dev/prod edited\n' });
    const second = readFileSync(`${state}.seen-2`, 'utf8');
    expect(second).toMatch(/^# Please edit the object below/);
    expect(second).toContain('# swarmclusters.swarmkeeper.dev "prod" was not valid:');
    expect(second).toContain('spec.managers.count: must be one of 1, 3, 5, 7 (odd, at most 7), got 4');
    const y = parse(sk(['get', 'prod', '-o', 'yaml']).stdout) as Obj;
    expect(y.spec.managers.count).toBe(5);
    expect(y.metadata.generation).toBe(3);
  });

  it('cancels an edit that changes nothing or empties the file', () => {
    expect(sk(['edit', 'prod'], { env: { EDITOR: 'true' } })).toMatchObject({ code: 0, stdout: 'Edit cancelled, no changes made.\n' });
    expect(sk(['edit', 'prod'], { env: { EDITOR: 'truncate -s 0' } })).toMatchObject({
      code: 0,
      stdout: 'Edit cancelled, no changes made.\n',
    });
    expect(sk(['edit', 'prod'], { env: { EDITOR: 'false' } }).code).toBe(1);
  });

  it('aborts, keeping the file, when invalid input is saved again unchanged', () => {
    // Renames a field at line start only, so the second round (already renamed) saves unchanged.
    const r = sk(['edit', 'prod'], { env: { EDITOR: "sed -i 's/^  workers:/  workerz:/'" } });
    expect(r.code).toBe(1);
    const kept = /Edit cancelled, no valid changes were saved. A copy of your changes has been stored to (\S+)/.exec(r.stderr)?.[1];
    expect(kept, r.stderr).toBeDefined();
    expect(readFileSync(kept as string, 'utf8')).toContain('workerz:');
    rmSync(join(kept as string, '..'), { recursive: true, force: true });
  });

  it('keeps the last good spec when etcdctl puts an invalid one, and shows why', () => {
    etcdctl(
      'put',
      clusterKeys(PREFIX, 'prod').spec,
      'apiVersion: swarmkeeper.dev/v1alpha1\nkind: SwarmCluster\nmetadata: {name: prod}\nspec: {managers: {count: 2}, workers: {count: 1}, provider: {local: {}}}\n',
    );
    const g = sk(['get', 'prod', '-o', 'json']);
    expect(g.code).toBe(0);
    expect((JSON.parse(g.stdout) as Obj).spec.managers.count).toBe(5);
    expect(g.stderr).toContain('spec.managers.count: must be one of 1, 3, 5, 7');
    expect(sk(['get', '-o', 'wide']).stdout).toMatch(/prod .*False\n/);
  });

  it('deletes: a cascade needs a running controller (refused, nothing changed); --cascade=orphan removes the keys', () => {
    const refused = sk(['delete', 'prod']);
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toContain('no swarmkeeper controller is running');
    expect(refused.stderr).toContain('--cascade=orphan');
    expect(sk(['get', 'prod']).code).toBe(0);
    expect(sk(['delete', 'prod', '--cascade=orphan'])).toMatchObject({
      code: 0,
      stdout: 'swarmcluster.swarmkeeper.dev "prod" deleted (orphan: its nodes keep running)\n',
    });
    expect(sk(['delete', 'prod', '--cascade=orphan']).code).toBe(1);
    expect(sk(['get'])).toMatchObject({ code: 0, stdout: '', stderr: 'No resources found\n' });
  });
});

describe('connection errors', () => {
  it('reports an unreachable etcd as an error (exit 1)', () => {
    const r = sk(['get'], { env: { SWARMKEEPER_ETCD_ENDPOINTS: 'http://127.0.0.1:9' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('etcd endpoints tried: http://127.0.0.1:9; set --etcd-endpoints or SWARMKEEPER_ETCD_ENDPOINTS');
  });
});
