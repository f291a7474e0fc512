import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { etcdClientOptions } from './etcd-client.ts';

const base = { endpoints: ['http://127.0.0.1:2379'], prefix: '/swarmkeeper' };

describe('etcdClientOptions', () => {
  it('passes hosts and username/password', () => {
    const o = etcdClientOptions({ ...base, username: 'root', password: 'pw' });
    expect(o.hosts).toEqual(['http://127.0.0.1:2379']);
    expect(o.auth).toEqual({ username: 'root', password: 'pw' });
    expect(o.credentials).toBeUndefined();
  });

  it('reads TLS files for https endpoints', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sk-tls-'));
    for (const f of ['ca.crt', 'c.crt', 'c.key']) writeFileSync(join(dir, f), f);
    const o = etcdClientOptions({
      ...base,
      endpoints: ['https://127.0.0.1:2379'],
      caFile: join(dir, 'ca.crt'),
      certFile: join(dir, 'c.crt'),
      keyFile: join(dir, 'c.key'),
    });
    expect(o.credentials?.rootCertificate.toString()).toBe('ca.crt');
    expect(o.credentials?.certChain?.toString()).toBe('c.crt');
    expect(o.credentials?.privateKey?.toString()).toBe('c.key');
  });

  it('refuses inconsistent settings with a usage error that names the flag', () => {
    expect(() => etcdClientOptions({ ...base, endpoints: [] })).toThrow(/--etcd-endpoints or SWARMKEEPER_ETCD_ENDPOINTS/);
    expect(() => etcdClientOptions({ ...base, endpoints: ['127.0.0.1:2379'] })).toThrow(/is not a URL \(want http:\/\/host:2379/);
    expect(() => etcdClientOptions({ ...base, endpoints: ['http://a:1', 'https://b:1'] })).toThrow(/mix http/);
    expect(() => etcdClientOptions({ ...base, certFile: '/x' })).toThrow(/--etcd-cert and --etcd-key/);
    expect(() => etcdClientOptions({ ...base, caFile: '/x' })).toThrow(/use https:\/\/ endpoints/);
    expect(() => etcdClientOptions({ ...base, endpoints: ['https://127.0.0.1:2379'], caFile: '/nonexistent/ca.crt' })).toThrow(
      /cannot read --etcd-cacert file \/nonexistent\/ca.crt: ENOENT/,
    );
    expect(() => etcdClientOptions({ ...base, password: 'secret-pw' })).toThrow(/without --etcd-username/);
  });

  it('never puts a password or URL credentials in its errors', () => {
    let message = '';
    try {
      etcdClientOptions({ ...base, endpoints: ['http://root:hunter2@127.0.0.1:2379'] });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/must not carry credentials/);
    expect(message).not.toContain('hunter2');
    try {
      etcdClientOptions({ ...base, password: 'secret-pw' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).not.toContain('secret-pw');
  });
});
