// The Provider contract (test/support/provider-contract.ts) against every provider:
// ec2 through the real AWS SDK against a real moto server, local with real dockerd and
// node-agent processes on loopback addresses, and the in-memory sim world.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { Ec2Provider } from '../../src/providers/ec2/ec2-provider.ts';
import { LocalProvider } from '../../src/providers/local/local-provider.ts';
import { SimWorld } from '../../src/providers/sim/world.ts';
import type { LaunchRequest } from '../../src/providers/provider.ts';
import { resolveSpec, type ResolvedSpec } from '../../src/spec/defaults.ts';
import { nodeConfigHash } from '../../src/spec/config-hash.ts';
import type { Ec2ProviderSpec, Role } from '../../src/spec/schema.ts';
import { anAgentConfig, anEc2Spec, motoEc2Spec, useTestCredentials } from '../support/ec2-fixtures.ts';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { describeProviderContract, type ProviderUnderTest } from '../support/provider-contract.ts';

useTestCredentials();

function requestFor(spec: ResolvedSpec, role: Role, count: number, clientToken: string, agent: LaunchRequest['agent']): LaunchRequest {
  return { spec, role, count, clientToken, configHash: nodeConfigHash(spec, role), agent };
}

// ec2 against moto.
let moto: MotoServer;
let ec2Spec: Ec2ProviderSpec;
let ec2: Ec2Provider;

// local: real processes. The agents point at a real management etcd; whether they join
// is not part of the contract, but they must have somewhere real to go.
const LOCAL_BLOCK = 203;
let mgmt: EtcdTestCluster;
let baseDir: string;
let local: LocalProvider;

beforeAll(async () => {
  [moto, mgmt] = await Promise.all([startMoto(), startEtcdCluster({ size: 1 })]);
  ec2Spec = await motoEc2Spec(moto.endpoint);
  ec2 = new Ec2Provider({ ec2: ec2Spec, docker: { port: 2376, ca: 'ca-pem', cert: 'cert-pem', key: 'key-pem' } });
  baseDir = mkdtempSync('/tmp/skc-');
  local = new LocalProvider({ baseDir, addressBlock: LOCAL_BLOCK });
});

afterAll(async () => {
  await ec2?.close();
  if (local) {
    for (const cluster of ['contract', 'contract-other']) {
      for (const i of await local.list(cluster).catch(() => [])) await local.terminate(cluster, i.id).catch(() => undefined);
    }
    for (const id of existsSync(join(baseDir, 'n')) ? readdirSync(join(baseDir, 'n')) : []) {
      await local.terminate('contract', id).catch(() => undefined);
    }
    await local.close();
  }
  if (baseDir) rmSync(baseDir, { recursive: true, force: true });
  await Promise.all([moto?.stop(), mgmt?.stop()]);
});

describeProviderContract(
  'ec2 (moto)',
  (): ProviderUnderTest => ({
    provider: ec2,
    cluster: 'contract',
    otherCluster: 'contract-other',
    request(role, count, token, which) {
      const spec = anEc2Spec(ec2Spec, {}, which === 'other' ? 'contract-other' : 'contract');
      return requestFor(spec, role, count, token, anAgentConfig(spec, role));
    },
    settle: async () => undefined,
  }),
  { batch: 3 },
);

describeProviderContract(
  'local (real dockerd and agents)',
  (): ProviderUnderTest => ({
    provider: local,
    cluster: 'contract',
    otherCluster: 'contract-other',
    request(role, count, token, which) {
      const name = which === 'other' ? 'contract-other' : 'contract';
      const spec = resolveSpec(name, 1, {
        managers: { count: 1 },
        workers: { count: 0 },
        provider: { local: { addressBlock: LOCAL_BLOCK } },
      });
      return requestFor(spec, role, count, token, {
        cluster: name,
        role,
        managementEtcd: { endpoints: mgmt.endpoints, prefix: `/sk-contract-${name}` },
      });
    },
    settle: async () => undefined,
  }),
  { batch: 1 },
);

const world = new SimWorld({ seed: 11 });
describeProviderContract(
  'sim',
  (): ProviderUnderTest => ({
    provider: world.provider,
    cluster: 'contract',
    otherCluster: 'contract-other',
    request(role, count, token, which) {
      const name = which === 'other' ? 'contract-other' : 'contract';
      const spec = resolveSpec(name, 1, { managers: { count: 1 }, workers: { count: 0 }, provider: { sim: {} } });
      return requestFor(spec, role, count, token, {
        cluster: name,
        role,
        managementEtcd: { endpoints: ['http://127.0.0.1:2379'], prefix: '/sk-contract' },
      });
    },
    settle: async () => world.advance(1_000),
  }),
  { batch: 3 },
);
