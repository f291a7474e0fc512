import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadKubeConfig } from './kube-config.ts';

const dir = mkdtempSync(join(tmpdir(), 'sk-kubeconfig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function kubeconfig(name: string, server: string, context = 'c'): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'k', cluster: { server } }],
      users: [{ name: 'u', user: { token: 'not-a-real-token' } }],
      contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
      'current-context': context,
    }),
  );
  return file;
}

describe('loadKubeConfig', () => {
  const home = mkdtempSync(join(dir, 'home-'));

  it('reads --kubeconfig first, then KUBECONFIG (its first file)', () => {
    const flag = kubeconfig('flag', 'https://127.0.0.1:1');
    const env = kubeconfig('env', 'https://127.0.0.1:2');
    expect(loadKubeConfig(flag, { KUBECONFIG: env, HOME: home }).getCurrentCluster()?.server).toBe('https://127.0.0.1:1');
    expect(loadKubeConfig(undefined, { KUBECONFIG: `${env}:${flag}`, HOME: home }).getCurrentCluster()?.server).toBe('https://127.0.0.1:2');
  });

  it('refuses a missing file, naming where it came from', () => {
    expect(() => loadKubeConfig(join(dir, 'nope'), { HOME: home })).toThrow(/--kubeconfig: .*nope: no such file/);
    expect(() => loadKubeConfig(undefined, { KUBECONFIG: join(dir, 'gone'), HOME: home })).toThrow(/KUBECONFIG: .*gone: no such file/);
  });

  it('refuses when there is no kubeconfig and no service account, rather than guessing localhost', () => {
    expect(() => loadKubeConfig(undefined, { HOME: home })).toThrow(
      /give --kubeconfig, set KUBECONFIG, or run in a pod with a service account/,
    );
  });

  it('refuses a kubeconfig that is not YAML without quoting its lines, which may hold a token', () => {
    const file = join(dir, 'broken');
    writeFileSync(file, 'apiVersion: v1\nusers:\n- name: u\n  user:\n    token: kc-secret-token-value\n  bad: [unclosed\nclusters: []\n');
    let caught: unknown;
    try {
      loadKubeConfig(file, { HOME: home });
    } catch (err) {
      caught = err;
    }
    expect((caught as Error).message).toMatch(/^reading the kubeconfig .*broken: .*\(\d+:\d+\)$/);
    expect(JSON.stringify(caught)).not.toContain('kc-secret-token-value');
    expect(String((caught as Error).message) + String((caught as Error).cause ?? '')).not.toContain('kc-secret-token-value');
  });

  it('refuses a kubeconfig whose current context names nothing', () => {
    const file = kubeconfig('bad-context', 'https://127.0.0.1:3', 'missing');
    expect(() => loadKubeConfig(file, { HOME: home })).toThrow(/names no current cluster/);
  });
});
