// DockerSwarm over TCP with TLS and client certificates against a real dockerd started
// with --tlsverify (startDockerd's tcpTls), the way a controller outside the cluster
// reaches a node. Plain TCP is impossible by construction (see docker-swarm.test.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSwarmkeeperError } from '../../src/errors.ts';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import { removeNodeDirs, startDockerd, type DockerdProcess } from '../../src/swarm/dockerd-process.ts';
import { DockerSwarm } from '../../src/swarm/docker-swarm.ts';
import { DOCKERD_TEST_BLOCK, makeDockerTlsCertificates, type DockerTestTls } from '../support/dockerd.ts';

let address: string;
let nodeDir: string;
let certDir: string;
let dockerd: DockerdProcess | undefined;
let tls: DockerTestTls;
let stranger: DockerTestTls;

beforeAll(async () => {
  address = reserveLoopback({ block: DOCKERD_TEST_BLOCK });
  nodeDir = mkdtempSync('/tmp/sk-');
  certDir = mkdtempSync('/tmp/sk-tls-');
  tls = makeDockerTlsCertificates(certDir, address);
  stranger = makeDockerTlsCertificates(certDir, address, 'stranger');
  dockerd = await startDockerd({
    address,
    dir: nodeDir,
    instanceId: 'tls-node',
    tcpTls: { port: 2376, caFile: tls.caFile, certFile: tls.serverCertFile, keyFile: tls.serverKeyFile },
  });
}, 120_000);

afterAll(async () => {
  await dockerd?.stop(15_000).catch(() => dockerd?.kill());
  if (nodeDir) removeNodeDirs(nodeDir);
  if (certDir) rmSync(certDir, { recursive: true, force: true });
  if (address) releaseLoopback(address);
}, 60_000);

describe('DockerSwarm over TLS TCP', () => {
  it('initialises a swarm and lists its node through the TLS endpoint', async () => {
    const api = new DockerSwarm({ host: address, port: 2376, ca: tls.ca, cert: tls.cert, key: tls.key });
    try {
      expect((await api.info()).localNodeState).toBe('inactive');
      await api.init(`${address}:2377`, address);
      const nodes = await api.listNodes();
      expect(nodes).toHaveLength(1);
      expect(nodes[0]).toMatchObject({ instanceId: 'tls-node', role: 'manager', leader: true, address });
    } finally {
      await api.close();
    }
  });

  it('is refused with a client certificate from another CA', async () => {
    const api = new DockerSwarm({ host: address, port: 2376, ca: tls.ca, cert: stranger.cert, key: stranger.key });
    try {
      const err = await api.info().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isSwarmkeeperError(err), String(err)).toBe(true);
      expect(isSwarmkeeperError(err, 'Unauthorized'), String(err)).toBe(true);
      expect(String(err)).toMatch(/bad certificate/i);
    } finally {
      await api.close();
    }
  });

  it('does not trust a server its CA did not sign', async () => {
    const api = new DockerSwarm({ host: address, port: 2376, ca: stranger.ca, cert: tls.cert, key: tls.key });
    try {
      const err = await api.info().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isSwarmkeeperError(err), String(err)).toBe(true);
      expect(isSwarmkeeperError(err, 'Unauthorized'), String(err)).toBe(true);
      expect(String(err)).toMatch(/verify the first certificate/i);
    } finally {
      await api.close();
    }
  });
});
