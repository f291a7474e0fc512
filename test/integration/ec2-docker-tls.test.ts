// How a controller outside the cluster reaches a manager's Docker API, through the
// local equivalent of an EC2 node: a manager exchanges its bootstrap token with a
// certificate request and gets a server certificate from the cluster's docker CA (kept
// in a real etcd); a real dockerd serves its API on TLS TCP with that certificate and
// --tlsverify; the controller connects with a client certificate of the same CA. A
// client of another CA, and plain TCP, get nothing.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Etcd3 } from 'etcd3';
import type { FastifyInstance } from 'fastify';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';
import { DOCKERD_TEST_BLOCK } from '../support/dockerd.ts';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import { removeNodeDirs, startDockerd, type DockerdProcess } from '../../src/swarm/dockerd-process.ts';
import { DockerSwarm } from '../../src/swarm/docker-swarm.ts';
import { isSwarmkeeperError } from '../../src/errors.ts';
import { createDockerCa, createDockerCsr, loadOrCreateDockerCa } from '../../src/providers/ec2/docker-ca.ts';
import { DOCKER_CA_SECRET, etcdCreateOnceSecret } from '../../src/store/create-once-secret.ts';
import { Ec2Provider } from '../../src/providers/ec2/ec2-provider.ts';
import { EtcdBootstrapTokens } from '../../src/store/bootstrap-tokens.ts';
import { bootstrapRouteApp } from '../support/bootstrap-route.ts';
import { clusterDockerTls } from '../../src/controller/cluster-docker-tls.ts';
import { clusterKeys } from '../../src/store/keys.ts';
import type { JoinResponse } from '../../src/protocol/bootstrap-exchange.ts';
import type { Instance } from '../../src/model/snapshot.ts';

const PREFIX = '/sk-tls';

/** A running manager of launch `clientToken`, as the provider would list it. */
function runningManager(id: string, clientToken: string, at: string): Instance {
  return { id, role: 'manager', state: 'running', launchedAt: 0, address: at, configHash: 'h', clientToken, tags: {} };
}
let etcd: EtcdTestCluster;
let client: Etcd3;
let address: string;
let nodeDir: string;
let certDir: string;
let dockerd: DockerdProcess | undefined;
let app: FastifyInstance;

beforeAll(async () => {
  etcd = await startEtcdCluster({ size: 1 });
  client = etcd.client();
  address = reserveLoopback({ block: DOCKERD_TEST_BLOCK });
  nodeDir = mkdtempSync('/tmp/sk-');
  certDir = mkdtempSync('/tmp/sk-tls-');
}, 120_000);

afterAll(async () => {
  await app?.close();
  await dockerd?.stop(15_000).catch(() => dockerd?.kill());
  if (nodeDir) removeNodeDirs(nodeDir);
  if (certDir) rmSync(certDir, { recursive: true, force: true });
  if (address) releaseLoopback(address);
  client?.close();
  await etcd?.stop();
}, 60_000);

describe('docker API over TLS with certificates issued at bootstrap', () => {
  it('keeps one CA per cluster in etcd', async () => {
    const a = await loadOrCreateDockerCa(etcdCreateOnceSecret(client, PREFIX, 'prod', DOCKER_CA_SECRET), 'prod');
    const b = await loadOrCreateDockerCa(etcdCreateOnceSecret(client, PREFIX, 'prod', DOCKER_CA_SECRET), 'prod');
    const other = await loadOrCreateDockerCa(etcdCreateOnceSecret(client, PREFIX, 'other', DOCKER_CA_SECRET), 'other');
    expect(a.caPem).toBe(b.caPem);
    expect(other.caPem).not.toBe(a.caPem);
  });

  it('a manager gets a server certificate at bootstrap; the controller reaches its dockerd with a client certificate', async () => {
    const tokens = new EtcdBootstrapTokens(client, PREFIX);
    const token = await tokens.issue({ cluster: 'prod', role: 'manager', clientToken: 'launch-tls-1', ttlSeconds: 600 });
    const instance = runningManager('i-tls', 'launch-tls-1', address);
    app = await bootstrapRouteApp({
      client,
      prefix: PREFIX,
      tokens,
      instance,
      dockerCa: (cluster: string) => loadOrCreateDockerCa(etcdCreateOnceSecret(client, PREFIX, cluster, DOCKER_CA_SECRET), cluster),
    });
    // The node side: its key stays here; only the request travels.
    const node = await createDockerCsr('203.0.113.9');
    const res = await app.inject({
      method: 'POST',
      url: '/v1/bootstrap',
      remoteAddress: address,
      payload: { cluster: 'prod', token, instanceId: instance.id, dockerCsr: node.csr },
    });
    expect(res.statusCode).toBe(200);
    const answer = res.json<JoinResponse>();
    expect(answer.dockerTls?.ca).toBe(
      (await loadOrCreateDockerCa(etcdCreateOnceSecret(client, PREFIX, 'prod', DOCKER_CA_SECRET), 'prod')).caPem,
    );
    expect(answer.dockerTls?.cert).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(res.body).not.toContain('PRIVATE KEY');
    // The certificate names the instance's address, not what the request asked for.
    expect(new X509Certificate(answer.dockerTls?.cert ?? '').subjectAltName).toBe(`IP Address:${address}`);
    // The initialising manager that lost this answer asks again: the repeat carries a certificate too.
    expect(answer.initialize).toBe(true);
    const again = await app.inject({
      method: 'POST',
      url: '/v1/bootstrap',
      remoteAddress: address,
      payload: { cluster: 'prod', token, instanceId: instance.id, dockerCsr: node.csr },
    });
    expect(again.statusCode).toBe(200);
    expect(new X509Certificate(again.json<JoinResponse>().dockerTls?.cert ?? '').subjectAltName).toBe(`IP Address:${address}`);

    writeFileSync(join(certDir, 'ca.pem'), answer.dockerTls?.ca ?? '');
    writeFileSync(join(certDir, 'server.pem'), answer.dockerTls?.cert ?? '');
    writeFileSync(join(certDir, 'server-key.pem'), node.key, { mode: 0o600 });
    dockerd = await startDockerd({
      address,
      dir: nodeDir,
      instanceId: instance.id,
      tcpTls: {
        port: 2376,
        caFile: join(certDir, 'ca.pem'),
        certFile: join(certDir, 'server.pem'),
        keyFile: join(certDir, 'server-key.pem'),
      },
    });

    // The controller's side, as the EC2 provider hands it to the swarm adapter.
    const ca = await loadOrCreateDockerCa(etcdCreateOnceSecret(client, PREFIX, 'prod', DOCKER_CA_SECRET), 'prod');
    const me = await ca.issueClientCert('swarmkeeper-controller');
    const provider = new Ec2Provider({
      ec2: { region: 'eu-west-1', imageId: 'ami-00000000', subnetIds: ['subnet-00000000'], securityGroupIds: ['sg-00000000'] },
      docker: { port: 2376, ca: ca.caPem, cert: me.cert, key: me.key },
    });
    const endpoint = provider.dockerEndpoint(instance);
    await provider.close();
    expect(endpoint).toMatchObject({ host: address, port: 2376 });
    const api = new DockerSwarm(endpoint);
    try {
      const info = await api.info();
      expect(info.localNodeState).toBe('inactive');
    } finally {
      await api.close();
    }

    // A client certificate from another CA is refused by dockerd.
    const { ca: strangerCa } = await createDockerCa('stranger');
    const stranger = await strangerCa.issueClientCert('mallory');
    const refused = new DockerSwarm({ host: address, port: 2376, ca: ca.caPem, cert: stranger.cert, key: stranger.key });
    try {
      const err = await refused.info().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isSwarmkeeperError(err, 'Unauthorized'), String(err)).toBe(true);
    } finally {
      await refused.close();
    }
  }, 180_000);

  it('serves nothing on the plain docker port', async () => {
    const open = await new Promise<boolean>((resolve) => {
      const s = connect({ host: address, port: 2375 }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    expect(open).toBe(false);
  });

  it('refuses a request that is not a valid CSR, without using the token up', async () => {
    const tokens = new EtcdBootstrapTokens(client, PREFIX);
    const token = await tokens.issue({ cluster: 'csr', role: 'manager', clientToken: 'launch-tls-2', ttlSeconds: 600 });
    const instance = runningManager('i-csr', 'launch-tls-2', '127.0.0.1');
    const local = await bootstrapRouteApp({
      client,
      prefix: PREFIX,
      tokens,
      instance,
      dockerCa: (cluster: string) => loadOrCreateDockerCa(etcdCreateOnceSecret(client, PREFIX, cluster, DOCKER_CA_SECRET), cluster),
    });
    try {
      const bad = await local.inject({
        method: 'POST',
        url: '/v1/bootstrap',
        remoteAddress: '127.0.0.1',
        payload: {
          cluster: 'csr',
          token,
          instanceId: 'i-csr',
          dockerCsr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n',
        },
      });
      expect(bad.statusCode).toBe(400);
      const good = await local.inject({
        method: 'POST',
        url: '/v1/bootstrap',
        remoteAddress: '127.0.0.1',
        payload: { cluster: 'csr', token, instanceId: 'i-csr' },
      });
      expect(good.statusCode).toBe(200);
      expect(good.json<JoinResponse>().dockerTls).toBeUndefined();
    } finally {
      await local.close();
    }
  });

  it('answers 503 for a CA record it cannot read, without quoting it or using the token up; with no record, answers without TLS', async () => {
    const tokens = new EtcdBootstrapTokens(client, PREFIX);
    const token = await tokens.issue({ cluster: 'damaged', role: 'manager', clientToken: 'launch-tls-3', ttlSeconds: 600 });
    const instance = runningManager('i-damaged', 'launch-tls-3', '127.0.0.1');
    const recordKey = `${clusterKeys(PREFIX, 'damaged').secrets}${DOCKER_CA_SECRET}`;
    await client.put(recordKey).value('{"key":"MIGHAgEAMBMGByqGSM49-damaged');
    // A controller on a manager's socket: it signs only for clusters that have a CA record.
    const onSocket = clusterDockerTls({
      secretOf: (cluster) => etcdCreateOnceSecret(client, PREFIX, cluster, DOCKER_CA_SECRET),
      controllerUsesTls: false,
    });
    const local = await bootstrapRouteApp({ client, prefix: PREFIX, tokens, instance, dockerCa: onSocket.caOf });
    const { csr } = await createDockerCsr('127.0.0.1');
    const ask = () =>
      local.inject({
        method: 'POST',
        url: '/v1/bootstrap',
        remoteAddress: '127.0.0.1',
        payload: { cluster: 'damaged', token, instanceId: instance.id, dockerCsr: csr },
      });
    try {
      const refused = await ask();
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['retry-after']).toBeDefined();
      expect(refused.body).not.toContain('MIGHAgEA');
      await client.delete().key(recordKey);
      const answered = await ask();
      expect(answered.statusCode).toBe(200);
      expect(answered.json<JoinResponse>().dockerTls).toBeUndefined();
      expect(await etcdCreateOnceSecret(client, PREFIX, 'damaged', DOCKER_CA_SECRET).exists()).toBe(false);
    } finally {
      await local.close();
    }
  });
});
