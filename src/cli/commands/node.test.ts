import { describe, expect, it } from 'vitest';
import { parseBootstrapFlags } from './node.ts';

const good = {
  role: 'manager',
  cluster: 'demo',
  instanceId: 'lc-1',
  address: '127.200.0.2',
  dockerHost: 'unix:///tmp/sk/n/lc-1/d.sock',
  dataDir: '/tmp/sk/n/lc-1/agent',
};

describe('node bootstrap flags', () => {
  it('turns flags into the agent config and node identity', () => {
    expect(parseBootstrapFlags(good, ['http://127.9.0.2:2379'], '/sk')).toEqual({
      config: { cluster: 'demo', role: 'manager', managementEtcd: { endpoints: ['http://127.9.0.2:2379'], prefix: '/sk' } },
      identity: { instanceId: 'lc-1', address: '127.200.0.2', dataDir: '/tmp/sk/n/lc-1/agent' },
      socketPath: '/tmp/sk/n/lc-1/d.sock',
    });
  });
  it.each([
    [{ role: 'boss' }, /--role/],
    [{ cluster: 'Bad_Name' }, /--cluster/],
    [{ address: 'host' }, /--address/],
    [{ dockerHost: 'tcp://1.2.3.4:2375' }, /--docker-host/],
    [{ dataDir: 'rel/dir' }, /--data-dir/],
  ])('refuses %o naming the flag', (override, message) => {
    expect(() => parseBootstrapFlags({ ...good, ...override }, ['http://127.9.0.2:2379'], '/sk')).toThrow(message);
  });
  it('needs the management etcd', () => {
    expect(() => parseBootstrapFlags(good, [], '/sk')).toThrow(/--etcd-endpoints/);
  });
  it('takes the ec2 token exchange flags together only', () => {
    const ec2 = { ...good, bootstrapUrl: 'https://controller:8443', bootstrapTokenFile: '/etc/swarmkeeper/bootstrap-token' };
    expect(parseBootstrapFlags(ec2, ['http://10.0.0.9:2379'], '/sk').config.bootstrapUrl).toBe('https://controller:8443');
    expect(() => parseBootstrapFlags({ ...good, bootstrapUrl: 'https://controller:8443' }, ['http://10.0.0.9:2379'], '/sk')).toThrow(
      /--bootstrap-token-file/,
    );
    expect(() => parseBootstrapFlags({ ...ec2, bootstrapUrl: 'controller' }, ['http://10.0.0.9:2379'], '/sk')).toThrow(
      /not an http\(s\) URL/,
    );
    expect(() => parseBootstrapFlags({ ...good, dockerTlsDir: '/etc/swarmkeeper/tls' }, ['http://10.0.0.9:2379'], '/sk')).toThrow(
      /--docker-tls-dir needs --bootstrap-url/,
    );
  });
  it('takes a bootstrap CA file for an https:// bootstrap URL only', () => {
    const ec2 = {
      ...good,
      bootstrapUrl: 'https://controller:8443',
      bootstrapTokenFile: '/etc/swarmkeeper/bootstrap-token',
      bootstrapCaFile: '/etc/swarmkeeper/bootstrap-ca.pem',
    };
    expect(parseBootstrapFlags(ec2, [], '/sk').config.bootstrapUrl).toBe('https://controller:8443');
    expect(() => parseBootstrapFlags({ ...ec2, bootstrapUrl: 'http://controller:8080' }, [], '/sk')).toThrow(
      /--bootstrap-ca-file needs an https:\/\/ --bootstrap-url/,
    );
    expect(() => parseBootstrapFlags({ ...good, bootstrapCaFile: '/ca.pem' }, ['http://10.0.0.9:2379'], '/sk')).toThrow(
      /--bootstrap-ca-file needs an https:\/\/ --bootstrap-url/,
    );
  });
});
