// SwarmCluster objects in a real kube-apiserver as the controller's spec source:
// manifests/kubernetes applied server-side (CRD, RBAC, Deployment), the service account's
// permissions checked verb by verb with `kubectl auth can-i`, and `swarmkeeper run
// --spec-source kubernetes` running as a real process under that service account's token
// (so the RBAC is shown to be enough, not only asserted), building a local cluster
// (dockerd, etcd and node agents as processes) from `kubectl apply`:
// converge → Ready in `kubectl get swarmclusters`, a patch of the worker count, an
// invalid object refused by the API server, the API server restarted with a change made
// while the controller's watch is down (the periodic resync is an hour, so only the
// watch can bring it), and `kubectl delete` draining and terminating every node before
// the object goes. Cost: 110-230 s on a 2-core machine at load 20-50 (API server and
// etcd start, then the local nodes starting and the API server restart).
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Etcd3 } from 'etcd3';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import { LocalProvider } from '../../src/providers/local/local-provider.ts';
import { loadKubeConfig } from '../../src/kube/kube-config.ts';
import { swarmClusterApi } from '../../src/kube/swarmcluster-api.ts';
import type { Instance } from '../../src/model/snapshot.ts';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-apiserver.ts';
import { startSwarmkeeperRun, type RunProcess } from '../support/swarmkeeper-run.ts';
import { until } from '../support/until.ts';
import { processesNaming } from '../support/processes.ts';

const BLOCK = 241;
const PREFIX = '/skk';
const SA = 'system:serviceaccount:swarmkeeper:swarmkeeper';
const ROOT = new URL('../..', import.meta.url).pathname;
const CLI = join(ROOT, 'bin/swarmkeeper.js');

let kube: KubeApiServer;
let mgmt: EtcdTestCluster;
let client: Etcd3;
let run: RunProcess | undefined;
let listenAddress: string | undefined;
let baseDir = '';
let provider: LocalProvider;
let appliedK = '';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;

function clusterYaml(name: string, workers: number, extra = ''): string {
  return `apiVersion: swarmkeeper.dev/v1alpha1
kind: SwarmCluster
metadata:
  name: ${name}
spec:
  managers: { count: 1 }
  workers: { count: ${workers} }
  provider:
    local: { baseDir: ${JSON.stringify(baseDir)}, addressBlock: ${BLOCK} }
  healing: { unhealthyAfterSeconds: 5, nodeStartupTimeoutSeconds: 180, minHealthySeconds: 0 }
${extra}`;
}

async function getObject(name: string): Promise<Obj | undefined> {
  const r = await kube.kubectl(['get', 'swarmcluster', name, '-o', 'json']);
  return r.code === 0 ? JSON.parse(r.stdout) : undefined;
}

/** Waits until the object's status reports its generation observed with `workers` ready and Ready=True. */
async function converged(name: string, workers: number, timeoutMs = 240_000): Promise<Obj> {
  return until(
    `${name} Ready with 1 manager and ${workers} worker(s)`,
    async () => {
      const o = await getObject(name);
      const s = o?.status;
      const ready = s?.conditions?.find((c: Obj) => c.type === 'Ready')?.status === 'True';
      return ready &&
        s.observedGeneration === o.metadata.generation &&
        s.managers?.ready === 1 &&
        s.workers?.ready === workers &&
        s.nodes?.length === 1 + workers
        ? o
        : undefined;
    },
    { timeoutMs, intervalMs: 1000, context: () => `controller log tail: ${run?.stderr().slice(-3000) ?? ''}` },
  );
}

/** A kubeconfig for the API server under test with a bearer token. */
function tokenKubeconfig(file: string, token: string): string {
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server: kube.url, 'certificate-authority': join(kube.dir, 'ca.crt') } }],
      users: [{ name: 'sa', user: { token } }],
      contexts: [{ name: 'sa', context: { cluster: 'test', user: 'sa' } }],
      'current-context': 'sa',
    }),
  );
  return file;
}

/** `swarmkeeper run` expected to exit at once: its exit code and stderr. */
function runExpectingExit(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, '--etcd-endpoints', mgmt.endpoints.join(','), '--prefix', '/skk-refused', 'run', ...args],
      { env, timeout: 120_000 },
      (err, _stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr });
      },
    );
  });
}

async function canI(args: readonly string[]): Promise<string> {
  const r = await kube.kubectl(['auth', 'can-i', `--as=${SA}`, ...args]);
  return r.stdout.trim();
}

beforeAll(async () => {
  [kube, mgmt] = await Promise.all([startKubeApiServer(), startEtcdCluster({ size: 1 })]);
  client = mgmt.client();
  baseDir = mkdtempSync('/tmp/skk-');
  provider = new LocalProvider({ baseDir, addressBlock: BLOCK });
  // The manifests as shipped, applied for real (a server-side dry run cannot create
  // objects in a namespace the same apply creates).
  appliedK = await kube.kubectlOk(['apply', '--server-side', '-k', join(ROOT, 'manifests/kubernetes')]);
  await kube.kubectlOk(['wait', '--for=condition=Established', 'crd/swarmclusters.swarmkeeper.dev', '--timeout=60s']);
  // The controller runs with the service account's token: exactly what rbac.yaml grants.
  const token = (await kube.kubectlOk(['-n', 'swarmkeeper', 'create', 'token', 'swarmkeeper', '--duration=2h'])).trim();
  const saKubeconfig = tokenKubeconfig(join(kube.dir, 'sa-kubeconfig'), token);
  listenAddress = reserveLoopback({ block: BLOCK });
  run = await startSwarmkeeperRun({
    etcdEndpoints: mgmt.endpoints,
    prefix: PREFIX,
    listen: `${listenAddress}:0`,
    // An hour: a change the watch missed would not be picked up by a resync during the test.
    args: ['--spec-source', 'kubernetes', '--kubeconfig', saKubeconfig, '--resync-seconds', '3600', '--identity', 'kube-source-test'],
    env: { SWARMKEEPER_LOG_LEVEL: 'info' },
  });
}, 240_000);

afterAll(async () => {
  run?.stop();
  if (provider) {
    for (const name of ['kc', 'orphaned']) {
      for (const i of await provider.list(name).catch(() => [] as Instance[])) await provider.terminate(name, i.id).catch(() => undefined);
    }
    await provider.close();
  }
  if (baseDir) rmSync(baseDir, { recursive: true, force: true });
  client?.close();
  await mgmt?.stop();
  await kube?.stop();
  if (listenAddress) releaseLoopback(listenAddress);
}, 180_000);

describe('manifests/kubernetes against a real API server', () => {
  it('apply -k passes server-side and the Deployment selects the Kubernetes spec source', async () => {
    expect(appliedK).toContain('customresourcedefinition.apiextensions.k8s.io/swarmclusters.swarmkeeper.dev serverside-applied');
    expect(appliedK).toContain('deployment.apps/swarmkeeper serverside-applied');
    // Applied again with a server-side dry run: still accepted as it stands.
    expect(await kube.kubectlOk(['apply', '--server-side', '--dry-run=server', '-k', join(ROOT, 'manifests/kubernetes')])).toContain(
      '(server dry run)',
    );
    const dep = JSON.parse(await kube.kubectlOk(['-n', 'swarmkeeper', 'get', 'deployment', 'swarmkeeper', '-o', 'json']));
    const [c] = dep.spec.template.spec.containers;
    expect(c.args.slice(0, 3)).toEqual(['run', '--spec-source', 'kubernetes']);
    expect(dep.spec.template.spec.serviceAccountName).toBe('swarmkeeper');
  });

  it('grants the service account exactly what the controller uses (kubectl auth can-i)', async () => {
    for (const verb of ['get', 'list', 'watch', 'patch']) expect(await canI([verb, 'swarmclusters.swarmkeeper.dev']), verb).toBe('yes');
    expect(await canI(['patch', 'swarmclusters.swarmkeeper.dev', '--subresource=status'])).toBe('yes');
    expect(await canI(['create', 'events', '-n', 'default'])).toBe('yes');
    const refused: string[][] = [
      ['create', 'swarmclusters.swarmkeeper.dev'],
      ['update', 'swarmclusters.swarmkeeper.dev'],
      ['delete', 'swarmclusters.swarmkeeper.dev'],
      ['update', 'swarmclusters.swarmkeeper.dev', '--subresource=status'],
      ['get', 'swarmclusters.swarmkeeper.dev', '--subresource=status'],
      ['create', 'events', '-n', 'swarmkeeper'],
      ['patch', 'events', '-n', 'default'],
      ['delete', 'events', '-n', 'default'],
      ['create', 'events.events.k8s.io', '-n', 'default'],
      ['get', 'secrets', '-n', 'swarmkeeper'],
      ['create', 'leases.coordination.k8s.io', '-n', 'swarmkeeper'],
      ['list', 'pods', '-A'],
    ];
    for (const args of refused) expect(await canI(args), args.join(' ')).toBe('no');
  });
});

describe('the in-cluster configuration', () => {
  it("reaches the API server as the pod's service account (KUBERNETES_SERVICE_HOST, the mounted token and CA)", async () => {
    const root = mkdtempSync('/tmp/skk-pod-');
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    try {
      const dir = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
      mkdirSync(dir, { recursive: true });
      copyFileSync(join(kube.dir, 'ca.crt'), join(dir, 'ca.crt'));
      writeFileSync(join(dir, 'token'), (await kube.kubectlOk(['-n', 'swarmkeeper', 'create', 'token', 'swarmkeeper'])).trim());
      writeFileSync(join(dir, 'namespace'), 'swarmkeeper');
      // client-node reads these two from process.env itself.
      process.env.KUBERNETES_SERVICE_HOST = kube.address;
      process.env.KUBERNETES_SERVICE_PORT = '6443';
      const kc = loadKubeConfig(undefined, { HOME: root, KUBERNETES_SERVICE_HOST: kube.address }, root);
      expect(kc.getCurrentCluster()?.server).toBe(kube.url);
      const api = swarmClusterApi(kc);
      expect((await api.list()).items).toEqual([]);
      // As the service account, not as an administrator: what rbac.yaml does not grant is refused.
      const create = kc
        .makeApiClient(CustomObjectsApi)
        .createClusterCustomObject({ group: 'swarmkeeper.dev', version: 'v1alpha1', plural: 'swarmclusters', body: {} });
      await expect(create).rejects.toMatchObject({ code: 403 });
      await expect(
        api.recordEvent({ name: 'absent' }, { type: 'Normal', reason: 'Test', action: 'Test', message: 'in-cluster' }, new Date()),
      ).resolves.toBeUndefined();
    } finally {
      process.env.KUBERNETES_SERVICE_HOST = saved.host;
      process.env.KUBERNETES_SERVICE_PORT = saved.port;
      if (saved.host === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
      if (saved.port === undefined) delete process.env.KUBERNETES_SERVICE_PORT;
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('swarmkeeper run --spec-source kubernetes', () => {
  it('refuses to start without a kubeconfig (exit 2), or with credentials that may not list SwarmClusters (exit 1), saying what to do', async () => {
    const home = mkdtempSync('/tmp/skk-home-');
    try {
      const env = { PATH: process.env.PATH ?? '', HOME: home };
      const none = await runExpectingExit(['--spec-source', 'kubernetes'], env);
      expect(none.code, none.stderr).toBe(2);
      expect(none.stderr).toContain('give --kubeconfig, set KUBECONFIG, or run in a pod with a service account');
      const wrongFlag = await runExpectingExit(['--kubeconfig', join(kube.dir, 'sa-kubeconfig')], env);
      expect(wrongFlag.code).toBe(2);
      expect(wrongFlag.stderr).toContain('--kubeconfig: only with --spec-source kubernetes');
      await kube.kubectlOk(['-n', 'default', 'create', 'serviceaccount', 'nobody']);
      const token = (await kube.kubectlOk(['-n', 'default', 'create', 'token', 'nobody'])).trim();
      const refused = await runExpectingExit(
        ['--spec-source', 'kubernetes', '--kubeconfig', tokenKubeconfig(join(home, 'nobody'), token)],
        env,
      );
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).toContain('the credentials may not list swarmclusters.swarmkeeper.dev');
      expect(refused.stderr).toContain('HTTP 403');
      expect(refused.stderr).not.toContain(token);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 180_000);

  it('converges a SwarmCluster applied with kubectl: Ready in the printer columns, the finalizer on, status and Events written', async () => {
    await kube.kubectlOk(['apply', '-f', '-'], clusterYaml('kc', 1));
    const o = await converged('kc', 1);
    expect(o.metadata.finalizers).toContain('swarmkeeper.dev/teardown');
    expect(o.status.observedGeneration).toBe(1);
    expect(o.status.conditions.find((c: Obj) => c.type === 'SpecValid')).toMatchObject({ status: 'True' });
    expect(o.status.phase).toBe('Ready');
    const table = await kube.kubectlOk(['get', 'swarmclusters']);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+MANAGERS\s+MANAGERS-READY\s+WORKERS\s+WORKERS-READY\s+PHASE\s+AGE$/);
    expect(table).toMatch(/^kc\s+1\s+1\s+1\s+1\s+Ready\s+/m);
    // Steps as Events about the object, found the way `kubectl describe` finds them.
    const events = JSON.parse(
      await kube.kubectlOk([
        'get',
        'events',
        '-n',
        'default',
        '--field-selector',
        `involvedObject.name=kc,involvedObject.uid=${o.metadata.uid}`,
        '-o',
        'json',
      ]),
    ).items;
    expect(events.some((e: Obj) => e.reason === 'Step' && e.action === 'instance.launch' && e.source.component === 'swarmkeeper')).toBe(
      true,
    );
    expect(await kube.kubectlOk(['describe', 'swarmcluster', 'kc'])).toMatch(/Normal\s+Step\s+.*Launching/);
    expect((await provider.list('kc')).length).toBe(2);
  }, 300_000);

  it('refuses an invalid object at the API server, naming the field, and changes nothing', async () => {
    const r = await kube.kubectl(['apply', '-f', '-'], clusterYaml('kc', 1).replace('managers: { count: 1 }', 'managers: { count: 2 }'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('spec.managers.count: Unsupported value: 2');
    const patched = await kube.kubectl([
      'patch',
      'swarmcluster',
      'kc',
      '--type=merge',
      '-p',
      '{"spec":{"rollout":{"maxSurge":0,"maxUnavailable":0}}}',
    ]);
    expect(patched.code).toBe(1);
    expect(patched.stderr).toContain('spec.rollout');
    expect((await getObject('kc')).metadata.generation).toBe(1);
  });

  it('converges a kubectl patch of the worker count', async () => {
    await kube.kubectlOk(['patch', 'swarmcluster', 'kc', '--type=merge', '-p', '{"spec":{"workers":{"count":2}}}']);
    const o = await converged('kc', 2);
    expect(o.status.observedGeneration).toBe(2);
    expect((await provider.list('kc')).filter((i) => i.role === 'worker')).toHaveLength(2);
    expect(await kube.kubectlOk(['get', 'swarmclusters'])).toMatch(/^kc\s+1\s+1\s+2\s+2\s+Ready\s+/m);
  }, 300_000);

  it('misses no change across an API server restart: a patch made while the watch is down converges', async () => {
    await kube.restart({ downMs: 3000 });
    // At once, before the controller's watch (backing off while the server was down) is back.
    await kube.kubectlOk(['patch', 'swarmcluster', 'kc', '--type=merge', '-p', '{"spec":{"workers":{"count":1}}}']);
    const o = await converged('kc', 1);
    expect(o.status.observedGeneration).toBe(3);
    expect((await provider.list('kc')).filter((i) => i.role === 'worker')).toHaveLength(1);
  }, 300_000);

  it('kubectl delete drains and terminates every node, leaves nothing running, then the object goes', async () => {
    const instances = await provider.list('kc');
    expect(instances).toHaveLength(2);
    const uid = (await getObject('kc')).metadata.uid;
    // kubectl waits for the finalizer to be released.
    const deleted = await kube.kubectl(['delete', 'swarmcluster', 'kc', '--timeout=5m']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(await getObject('kc')).toBeUndefined();
    expect(await provider.list('kc')).toEqual([]);
    for (const i of instances) expect(processesNaming(i.id), `processes of ${i.id}`).toEqual([]);
    expect(await client.getAll().prefix(`${PREFIX}/clusters/kc/`).keys()).toEqual([]);
    const events = JSON.parse(
      await kube.kubectlOk(['get', 'events', '-n', 'default', '--field-selector', `involvedObject.uid=${uid}`, '-o', 'json']),
    ).items;
    const reasons = new Set(events.map((e: Obj) => `${e.reason}/${e.action}`));
    expect(reasons).toContain('Step/swarm.drain');
    expect(reasons).toContain('Step/instance.terminate');
    expect(reasons).toContain('Deleted/Release');
  }, 360_000);

  it('with the orphan annotation, kubectl delete removes the object and the keys and leaves the nodes running', async () => {
    await kube.kubectlOk(['apply', '-f', '-'], clusterYaml('orphaned', 0));
    await converged('orphaned', 0);
    const [node] = await provider.list('orphaned');
    expect(node).toBeDefined();
    await kube.kubectlOk(['annotate', 'swarmcluster', 'orphaned', 'swarmkeeper.dev/orphan-nodes=true']);
    const deleted = await kube.kubectl(['delete', 'swarmcluster', 'orphaned', '--timeout=2m']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(await getObject('orphaned')).toBeUndefined();
    // The controller's keys are gone; the node, still running, may publish its endpoints
    // and swarm tokens again through its agent.
    const left = await client.getAll().prefix(`${PREFIX}/clusters/orphaned/`).keys();
    expect(left.filter((k) => !/\/(endpoints|init-claim|secrets\/swarm-tokens)$/.test(k))).toEqual([]);
    expect((await provider.list('orphaned')).map((i) => i.id)).toEqual([node?.id]);
    expect(processesNaming(node?.id ?? '-').length).toBeGreaterThan(0);
  }, 300_000);
});
