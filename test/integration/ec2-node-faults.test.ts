// Two faults of a booting EC2 node, under real systemd (systemd-nspawn, the node harness
// of ec2-node-boot.test.ts), each node booted from Ignition user-data made by the renderer
// the EC2 provider sends, applied by the real Ignition:
// 1. the instance metadata service fails (the stand-in answers 403 to everything): the
//    metadata unit fails, and docker starts all the same (its drop-in Wants= the
//    metadata unit and reads its environment file with `-`); the agent, which needs
//    the instance id, does not start. When it hangs instead (never answers), the
//    metadata script's bounded requests and retries fail it, and docker starts too;
// 2. the registry hangs after its version check: the agent unit's image pull is killed
//    at TimeoutStartSec and the unit is started again (Restart=always), not left hanging.
//    The rendered timeout is 5 minutes (node 1 shows systemd reading it); node 2 gets a
//    drop-in that shortens it to 20 s, so the test does not wait 5 minutes: that drop-in
//    is this test's one substitution besides the metadata address.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderUserData } from '../../src/cloudconfig/user-data.ts';
import type { NodeAgentConfig } from '../../src/protocol/agent-config.ts';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import { startHungRegistry, type HungRegistry } from '../support/hung-registry.ts';
import { bootNodeFromUserData, type BootedNode } from '../support/node-host.ts';
import { until } from '../support/until.ts';

const NODE_BLOCK = 237;
const SHORT_TIMEOUT = '20s';

let registry: HungRegistry;
const nodes: BootedNode[] = [];
const addresses: string[] = [];

function userData(agentImage: string): string {
  const agent: NodeAgentConfig = {
    cluster: 'faults',
    role: 'manager',
    managementEtcd: { endpoints: [], prefix: '/sk' },
    // Never reached: neither node gets as far as the exchange.
    bootstrapUrl: 'http://127.0.0.1:9',
    bootstrapToken: 'skb1.faulttesttok.0123456789abcdef0123456789abcdef',
    agentImage,
  };
  return renderUserData({ agent, units: [], format: 'ignition' }).text;
}

async function boot(name: string, o: Partial<Parameters<typeof bootNodeFromUserData>[0]> & { userData: string }): Promise<BootedNode> {
  const address = reserveLoopback({ block: NODE_BLOCK });
  addresses.push(address);
  const node = await bootNodeFromUserData({ instanceId: `i-0${name}${String(process.pid % 100000).padStart(5, '0')}`, address, ...o });
  nodes.push(node);
  return node;
}

/** `systemctl show` properties of a unit inside the node. */
function show(node: BootedNode, unit: string, props: readonly string[]): Record<string, string> {
  const out = node.exec(['systemctl', 'show', unit, ...props.flatMap((p) => ['-p', p])]);
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/** Retries while the node's systemd is still coming up (nsenter or systemctl failing). */
function tryShow(node: BootedNode, unit: string, props: readonly string[]): Record<string, string> | undefined {
  try {
    return show(node, unit, props);
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  registry = await startHungRegistry();
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(nodes.map((n) => n.remove()));
  for (const a of addresses) releaseLoopback(a);
  await registry?.stop();
}, 120_000);

describe('a booting node under faults (real systemd)', () => {
  it('docker starts when instance metadata fails; the agent, which needs it, does not; a hung image pull times out and is retried', async () => {
    const [noMetadata, hungMetadata, hungPull] = await Promise.all([
      boot('a', { userData: userData('registry.example.com/swarmkeeper:0.1.0'), imds: { refuseWith: 403 } }),
      boot('c', { userData: userData('registry.example.com/swarmkeeper:0.1.0'), imds: { hang: true } }),
      boot('b', {
        userData: userData(`${registry.host}/swarmkeeper:hung`),
        testFiles: [
          {
            path: 'etc/systemd/system/swarmkeeper-bootstrap.service.d/99-test-short-timeout.conf',
            content: `[Service]\nTimeoutStartSec=${SHORT_TIMEOUT}\n`,
          },
        ],
      }),
    ]);

    // 1. Metadata fails: the metadata unit failed, docker runs anyway.
    const env = await until(
      'the metadata unit to fail',
      () => {
        const s = tryShow(noMetadata, 'swarmkeeper-node-env.service', ['ActiveState', 'Result']);
        return s?.ActiveState === 'failed' ? s : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 500, context: () => noMetadata.journal('swarmkeeper-node-env.service') },
    );
    expect(env.Result).toBe('exit-code');
    expect(noMetadata.imds.requests.get('403 /latest/api/token')).toBeGreaterThan(0);
    const docker = await until(
      'docker to run without metadata',
      () => {
        const s = tryShow(noMetadata, 'docker.service', ['ActiveState', 'SubState', 'Requires', 'Wants']);
        return s?.ActiveState === 'active' ? s : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 500, context: () => noMetadata.journal('docker.service') },
    );
    expect(docker.SubState).toBe('running');
    expect(docker.Requires).not.toContain('swarmkeeper-node-env.service');
    expect(docker.Wants).toContain('swarmkeeper-node-env.service');
    // The daemon answers on its socket.
    expect(noMetadata.exec(['docker', 'version', '--format', '{{.Server.Version}}']).trim()).toMatch(/^\d+\.\d+/);
    // The agent needs the instance id: its unit (Requires= the metadata unit) did not start.
    const agent = show(noMetadata, 'swarmkeeper-bootstrap.service', ['ActiveState', 'TimeoutStartUSec']);
    expect(agent.ActiveState).not.toMatch(/^(active|activating)$/);
    // The rendered pull timeout, as systemd reads it.
    expect(agent.TimeoutStartUSec).toBe('5min');

    // 1b. The metadata service hangs: every request and the script's retries are bounded,
    // so the metadata unit fails within a minute or so and docker starts after it.
    await until(
      'docker to run although the metadata service hangs',
      () => tryShow(hungMetadata, 'docker.service', ['ActiveState'])?.ActiveState === 'active',
      {
        timeoutMs: 240_000,
        intervalMs: 1000,
        context: () => hungMetadata.journal('swarmkeeper-node-env.service'),
      },
    );
    expect(hungMetadata.imds.requests.get('hung /latest/api/token')).toBeGreaterThan(1);
    expect(show(hungMetadata, 'swarmkeeper-node-env.service', ['ActiveState']).ActiveState).toBe('failed');
    expect(show(hungMetadata, 'swarmkeeper-node-env.service', ['TimeoutStartUSec']).TimeoutStartUSec).toBe('2min');

    // 2. The pull hangs: it reached the manifest and waits; the unit is still starting.
    const manifest = ' /v2/swarmkeeper/manifests/hung';
    await until('the bootstrap unit to start pulling from the hung registry', () => registry.requests.some((r) => r.endsWith(manifest)), {
      timeoutMs: 180_000,
      intervalMs: 500,
      context: () => `${registry.requests.join('\n')}\n${hungPull.journal('swarmkeeper-bootstrap.service')}`,
    });
    const hung = show(hungPull, 'swarmkeeper-bootstrap.service', ['ActiveState', 'SubState', 'TimeoutStartUSec']);
    expect(hung).toMatchObject({ ActiveState: 'activating', SubState: 'start-pre', TimeoutStartUSec: SHORT_TIMEOUT });
    // At the timeout systemd kills the pull, the start fails, and Restart= starts it again.
    await until(
      'the hung pull to time out and the unit to be restarted',
      () => Number(tryShow(hungPull, 'swarmkeeper-bootstrap.service', ['NRestarts'])?.NRestarts ?? 0) >= 1,
      {
        timeoutMs: 180_000,
        intervalMs: 1000,
        context: () => hungPull.journal('swarmkeeper-bootstrap.service'),
      },
    );
    const journal = hungPull.journal('swarmkeeper-bootstrap.service', 200);
    expect(journal).toMatch(/start-pre operation timed out/);
    expect(journal).toMatch(/Failed with result 'timeout'/);
    await until('the restarted unit to pull again', () => registry.requests.filter((r) => r.endsWith(manifest)).length >= 2, {
      timeoutMs: 120_000,
      intervalMs: 500,
      context: () => registry.requests.join('\n'),
    });
    // docker itself was never held up by the hung pull.
    expect(show(hungPull, 'docker.service', ['ActiveState']).ActiveState).toBe('active');
  }, 600_000);
});
