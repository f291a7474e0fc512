// The swarmkeeper image (manifests/Dockerfile, built by scripts/image.sh, cached) on a
// real dockerd: what the controller and the node agent rely on inside it. The build is
// shared with every test that runs the image; loading it costs ~20 s.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_VERSION } from '../../src/version.ts';
import { startSwarm, type TestSwarm } from '../support/dockerd.ts';
import { loadSwarmkeeperImage } from '../support/swarmkeeper-image.ts';

const run = promisify(execFile);
let swarm: TestSwarm;
let host: string;
let ref: string;

beforeAll(async () => {
  swarm = await startSwarm({ managers: 0, workers: 0, form: false, idPrefix: `img${process.pid}` });
  const node = await swarm.addNode('worker');
  host = `unix://${node.process.socketPath}`;
  ref = await loadSwarmkeeperImage(host);
}, 40 * 60_000);

afterAll(async () => {
  await swarm?.cleanup();
});

async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', ['-H', host, ...args], { timeout: 120_000 });
  return stdout.trim();
}

/** Runs the image without network (no pull, no registry), overriding the entrypoint when asked. */
const inImage = (entrypoint: string | undefined, ...args: string[]): Promise<string> =>
  docker('run', '--rm', '--network', 'none', ...(entrypoint ? ['--entrypoint', entrypoint] : []), ref, ...args);

describe('the swarmkeeper image', () => {
  it('is tagged and labelled with the package version', async () => {
    expect(ref).toBe(`swarmkeeper:${PACKAGE_VERSION}`);
    expect(await docker('image', 'inspect', '--format', '{{index .Config.Labels "org.opencontainers.image.version"}}', ref)).toBe(
      PACKAGE_VERSION,
    );
    expect(await inImage(undefined, 'version')).toBe(`swarmkeeper ${PACKAGE_VERSION} (swarmkeeper.dev/v1alpha1)`);
  });

  it('runs as the unprivileged node user by default and as root when the node unit asks', async () => {
    expect(await docker('image', 'inspect', '--format', '{{.Config.User}}', ref)).toBe('node');
    expect(await inImage('id', '-u')).toBe('1000');
    // What swarmkeeper-bootstrap.service does: --user 0:0.
    expect(await docker('run', '--rm', '--network', 'none', '--user', '0:0', '--entrypoint', 'id', ref, '-u')).toBe('0');
  });

  it('carries Node.js 24, etcd and etcdctl 3.4.23 (with the gateway workers run), and the agent', async () => {
    expect(await inImage('node', '--version')).toMatch(/^v24\./);
    expect(await inImage('etcd', '--version')).toMatch(/^etcd Version: 3\.4\.23$/m);
    expect(await inImage('etcdctl', 'version')).toMatch(/^etcdctl version: 3\.4\.23$/m);
    expect(await inImage('etcd', 'gateway', 'start', '--help')).toMatch(/--endpoints/);
    expect(await inImage(undefined, 'node', 'bootstrap', '--help')).toMatch(/--bootstrap-token-file/);
  });
});
