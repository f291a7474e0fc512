// A real Kubernetes API server for tests: kube-apiserver (built by scripts/setup-kube.sh)
// on a loopback address of its own, backed by a temporary etcd, with a throwaway CA, a
// serving certificate for that address, an admin client certificate (O=system:masters)
// and a service-account key pair, all made with openssl in a temp dir. kubectl comes
// with it, pointed at the server by a kubeconfig in the same dir. Everything is removed
// by stop(), and, as a last resort, when the test process exits.
//
//   const kube = await startKubeApiServer();
//   afterAll(() => kube.stop());
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import { startEtcdCluster, type EtcdTestCluster } from './etcd.ts';
import { until } from './until.ts';
import { makeOpensslCa, openssl } from './openssl-ca.ts';

export const KUBE_VERSION = 'v1.34.4';
/** Second octet of the addresses test API servers listen on (127.48.x.y). */
export const KUBE_TEST_BLOCK = 48;
const PORT = 6443;

export function kubeBinDir(): string {
  return join(process.env.SWARMKEEPER_CACHE_DIR ?? '/var/cache/swarmkeeper', 'kube', KUBE_VERSION);
}

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface KubeApiServer {
  /** https://127.48.x.y:6443 */
  readonly url: string;
  readonly address: string;
  readonly dir: string;
  /** An admin kubeconfig (client certificate in group system:masters). */
  readonly kubeconfig: string;
  readonly etcd: EtcdTestCluster;
  /** Runs kubectl against this server; `input` goes to its stdin. Never throws on a non-zero exit. */
  kubectl(args: readonly string[], input?: string): Promise<KubectlResult>;
  /** Like kubectl(), but throws with stderr when the exit code is not 0. */
  kubectlOk(args: readonly string[], input?: string): Promise<string>;
  /** Stops the API server process (etcd keeps its data) and starts it again. */
  restart(opts?: { downMs?: number }): Promise<void>;
  /** Stops the server and its etcd, deletes the temp dir, releases the address. Idempotent. */
  stop(): Promise<void>;
}

const live = new Set<{ proc: () => ChildProcess | undefined; dir: string; address: string }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const s of live) {
      s.proc()?.kill('SIGKILL');
      rmSync(s.dir, { recursive: true, force: true });
      releaseLoopback(s.address);
    }
  });
}

export async function startKubeApiServer(): Promise<KubeApiServer> {
  const bin = kubeBinDir();
  if (!existsSync(join(bin, 'kube-apiserver')) || !existsSync(join(bin, 'kubectl'))) {
    throw new Error(`kube-apiserver ${KUBE_VERSION} is not built in ${bin}: run bash scripts/setup.sh (it calls scripts/setup-kube.sh)`);
  }
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), 'sk-kube-'));
  const address = reserveLoopback({ block: KUBE_TEST_BLOCK });
  let proc: ChildProcess | undefined;
  const record = { proc: () => proc, dir, address };
  live.add(record);
  let etcd: EtcdTestCluster | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await stopProcess(proc);
    proc = undefined;
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
    releaseLoopback(address);
    live.delete(record);
  };

  try {
    const certs = makeKubeCertificates(dir, address);
    etcd = await startEtcdCluster({ size: 1 });
    const url = `https://${address}:${PORT}`;
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigText(url, certs));
    const args = apiServerArgs(address, etcd.endpoints, certs, dir);
    const logFile = join(dir, 'kube-apiserver.log');
    const start = async (): Promise<void> => {
      const out = openSync(logFile, 'a');
      proc = spawn(join(bin, 'kube-apiserver'), args, { stdio: ['ignore', out, out] });
      closeSync(out);
      const started = proc;
      await until(
        'kube-apiserver /readyz',
        async () =>
          started.exitCode === null ? readyz(url, certs) : Promise.reject(new Error(`kube-apiserver exited ${started.exitCode}`)),
        {
          timeoutMs: 120_000,
          intervalMs: 300,
          context: () => `log tail: ${tail(logFile)}`,
        },
      );
    };
    await start();
    const kubectl = (cmd: readonly string[], input?: string): Promise<KubectlResult> =>
      runKubectl(join(bin, 'kubectl'), kubeconfig, cmd, input);
    return {
      url,
      address,
      dir,
      kubeconfig,
      etcd,
      kubectl,
      kubectlOk: async (cmd, input) => {
        const r = await kubectl(cmd, input);
        if (r.code !== 0) throw new Error(`kubectl ${cmd.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
        return r.stdout;
      },
      restart: async (opts = {}) => {
        await stopProcess(proc);
        proc = undefined;
        await new Promise((r) => setTimeout(r, opts.downMs ?? 0));
        await start();
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

interface KubeCerts {
  readonly ca: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly adminCert: string;
  readonly adminKey: string;
  readonly saPub: string;
  readonly saKey: string;
}

function apiServerArgs(address: string, etcdServers: readonly string[], c: KubeCerts, dir: string): string[] {
  return [
    `--etcd-servers=${etcdServers.join(',')}`,
    `--bind-address=${address}`,
    `--advertise-address=${address}`,
    `--secure-port=${PORT}`,
    `--cert-dir=${join(dir, 'cert-dir')}`,
    `--tls-cert-file=${c.serverCert}`,
    `--tls-private-key-file=${c.serverKey}`,
    `--client-ca-file=${c.ca}`,
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${c.saPub}`,
    `--service-account-signing-key-file=${c.saKey}`,
    '--service-cluster-ip-range=10.96.0.0/24',
    // No controller manager or nodes here: nothing to reconcile the kubernetes Service's endpoints.
    '--endpoint-reconciler-type=none',
    '--authorization-mode=RBAC',
    '--profiling=false',
    '--v=0',
  ];
}

/** A CA, a serving cert for `address`, an admin client cert (O=system:masters) and an RSA service-account key pair. */
function makeKubeCertificates(dir: string, address: string): KubeCerts {
  const ca = makeOpensslCa(dir, '/CN=swarmkeeper-test-kube-ca');
  const p = ca.file;
  const sign = ca.sign;
  sign(
    'server',
    '/CN=kube-apiserver',
    `subjectAltName=IP:${address},DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n`,
  );
  sign(
    'admin',
    '/O=system:masters/CN=swarmkeeper-test-admin',
    'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n',
  );
  openssl(['genrsa', '-out', p('sa.key'), '2048']);
  openssl(['rsa', '-in', p('sa.key'), '-pubout', '-out', p('sa.pub')]);
  return {
    ca: p('ca.crt'),
    caKey: p('ca.key'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    saPub: p('sa.pub'),
    saKey: p('sa.key'),
  };
}

function kubeconfigText(url: string, c: KubeCerts): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster: { server: url, 'certificate-authority': c.ca } }],
    users: [{ name: 'admin', user: { 'client-certificate': c.adminCert, 'client-key': c.adminKey } }],
    contexts: [{ name: 'test', context: { cluster: 'test', user: 'admin' } }],
    'current-context': 'test',
  });
}

function readyz(url: string, c: KubeCerts): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/readyz`,
      { ca: readFileSync(c.ca), cert: readFileSync(c.adminCert), key: readFileSync(c.adminKey), timeout: 5_000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function runKubectl(kubectl: string, kubeconfig: string, args: readonly string[], input?: string): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      kubectl,
      [...args],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/root',
          KUBECONFIG: kubeconfig,
          KUBECACHEDIR: join(kubeconfig, '..', 'kubectl-cache'),
        },
        maxBuffer: 16 * 1024 * 1024,
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

async function stopProcess(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(timer);
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}
