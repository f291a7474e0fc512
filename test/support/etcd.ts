// Real etcd clusters for tests: 1 or 3 members on loopback addresses from the shared
// pool, data in a temp dir, optional TLS (throwaway CA made with openssl) and optional
// username/password auth (root). Everything is removed by stop(), and, as a last
// resort, when the test process exits. Use from beforeAll/afterAll:
//
//   const etcd = await startEtcdCluster({ size: 3 });
//   afterAll(() => etcd.stop());
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { startEtcdProcess, waitForEtcdHealth, type EtcdProcess, type EtcdProcessOptions } from '../../src/etcd/etcd-process.ts';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import type { EtcdConnectionOptions } from '../../src/store/etcd-client.ts';
import { makeTestCertificates, type TestCertificates } from './certs.ts';

/** Second octet of the addresses test etcd clusters use (127.21.x.y). */
export const ETCD_TEST_BLOCK = 21;

export interface EtcdClusterOptions {
  readonly size?: 1 | 3;
  /** Enables etcd auth with user `root` and this password. */
  readonly auth?: { readonly rootPassword: string };
  /** https client and peer URLs with a throwaway CA; clients must present a certificate. */
  readonly tls?: boolean;
  readonly block?: number;
}

/** The CA, the client certificate (CN root) and what the members present (SANs: every member address, 127.0.0.1, localhost). */
export type EtcdTestTls = TestCertificates;

export interface EtcdTestMember {
  readonly name: string;
  readonly address: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** The running process, undefined while stopped or killed. */
  process: EtcdProcess | undefined;
}

export interface EtcdTestCluster {
  readonly endpoints: string[];
  readonly members: EtcdTestMember[];
  readonly dir: string;
  readonly tls?: EtcdTestTls;
  readonly auth?: { readonly username: string; readonly password: string };
  /** Connection settings for createEtcdClient() and the CLI, with the given key prefix. */
  connection(prefix?: string): EtcdConnectionOptions;
  /** An etcd3 client with TLS and auth set up (the caller closes it). */
  client(): Etcd3;
  /** Environment for running etcdctl against this cluster. */
  etcdctlEnv(): Record<string, string>;
  /** SIGKILL one member (a crash). */
  killMember(i: number): Promise<void>;
  /** SIGTERM one member. */
  stopMember(i: number): Promise<void>;
  /** Starts a stopped or killed member again from its data dir (stops it first if running). */
  restartMember(i: number): Promise<void>;
  /** Stops every member, deletes the temp dir, releases the addresses. Idempotent. */
  stop(): Promise<void>;
}

const live = new Set<{ pids: () => number[]; dir: string; addresses: string[] }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous last resort when a test run ends without afterAll (a crash, Ctrl-C).
  process.once('exit', () => {
    for (const c of live) {
      for (const pid of c.pids()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      rmSync(c.dir, { recursive: true, force: true });
      for (const a of c.addresses) releaseLoopback(a);
    }
  });
}

export async function startEtcdCluster(opts: EtcdClusterOptions = {}): Promise<EtcdTestCluster> {
  installExitHook();
  const size = opts.size ?? 1;
  const dir = mkdtempSync(join(tmpdir(), 'sk-etcd-'));
  const addresses: string[] = [];
  for (let i = 0; i < size; i++) addresses.push(reserveLoopback({ block: opts.block ?? ETCD_TEST_BLOCK }));
  const scheme = opts.tls ? 'https' : 'http';
  const members: EtcdTestMember[] = addresses.map((address, i) => ({
    name: `m${i}`,
    address,
    clientUrl: `${scheme}://${address}:2379`,
    peerUrl: `${scheme}://${address}:2380`,
    dataDir: join(dir, `m${i}`),
    logFile: join(dir, `m${i}.log`),
    process: undefined,
  }));
  const record = { pids: () => members.flatMap((m) => (m.process ? [m.process.pid] : [])), dir, addresses };
  live.add(record);

  const tls = opts.tls ? makeTestCertificates(dir, addresses) : undefined;
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const processOptions = (m: EtcdTestMember): EtcdProcessOptions => ({
    name: m.name,
    dataDir: m.dataDir,
    clientUrls: [m.clientUrl],
    peerUrl: m.peerUrl,
    initialCluster,
    initialClusterState: 'new',
    initialClusterToken: `sk-test-${addresses[0]}`,
    logFile: m.logFile,
    waitFor: 'none',
    ...(tls
      ? {
          tls: { certFile: tls.serverCertFile, keyFile: tls.serverKeyFile, trustedCaFile: tls.caFile, clientCertAuth: true },
          peerTls: true,
        }
      : {}),
  });
  const probeTls = tls ? { caFile: tls.caFile, certFile: tls.certFile, keyFile: tls.keyFile } : undefined;
  const waitHealthy = async (m: EtcdTestMember): Promise<void> => {
    await waitForEtcdHealth(m.clientUrl, {
      timeoutMs: 90_000,
      ...(probeTls ? { tls: probeTls } : {}),
      abortIf: () => (m.process?.isRunning() ? undefined : `etcd ${m.name} exited; see ${m.logFile}`),
    });
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all(members.map(async (m) => m.process?.stop(5_000).catch(() => m.process?.kill())));
    rmSync(dir, { recursive: true, force: true });
    for (const a of addresses) releaseLoopback(a);
    live.delete(record);
  };

  const auth = opts.auth ? { username: 'root', password: opts.auth.rootPassword } : undefined;
  const endpoints = members.map((m) => m.clientUrl);
  const connection = (prefix = '/swarmkeeper'): EtcdConnectionOptions => ({
    endpoints,
    prefix,
    ...(tls ? { caFile: tls.caFile, certFile: tls.certFile, keyFile: tls.keyFile } : {}),
    ...(auth ? { username: auth.username, password: auth.password } : {}),
  });
  const client = (): Etcd3 => newClient(endpoints, tls, auth);

  try {
    for (const m of members) m.process = await startEtcdProcess(processOptions(m));
    await Promise.all(members.map(waitHealthy));
    if (auth) await enableAuth(newClient(endpoints, tls, undefined), auth.password);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    endpoints,
    members,
    dir,
    ...(tls ? { tls } : {}),
    ...(auth ? { auth } : {}),
    connection,
    client,
    etcdctlEnv: () => ({
      ETCDCTL_API: '3',
      ETCDCTL_ENDPOINTS: endpoints.join(','),
      ...(tls ? { ETCDCTL_CACERT: tls.caFile, ETCDCTL_CERT: tls.certFile, ETCDCTL_KEY: tls.keyFile } : {}),
      ...(auth ? { ETCDCTL_USER: `${auth.username}:${auth.password}` } : {}),
    }),
    killMember: async (i) => {
      const m = memberAt(members, i);
      await m.process?.kill();
      m.process = undefined;
    },
    stopMember: async (i) => {
      const m = memberAt(members, i);
      await m.process?.stop();
      m.process = undefined;
    },
    restartMember: async (i) => {
      const m = memberAt(members, i);
      await m.process?.stop();
      m.process = await startEtcdProcess({ ...processOptions(m), initialClusterState: 'existing' });
      await waitHealthy(m);
    },
    stop,
  };
}

function memberAt(members: EtcdTestMember[], i: number): EtcdTestMember {
  const m = members[i];
  if (!m) throw new Error(`no etcd member ${i} (cluster has ${members.length})`);
  return m;
}

function newClient(endpoints: string[], tls: EtcdTestTls | undefined, auth: { username: string; password: string } | undefined): Etcd3 {
  return new Etcd3({
    hosts: endpoints,
    ...(tls
      ? {
          credentials: {
            rootCertificate: readBuffer(tls.caFile),
            privateKey: readBuffer(tls.keyFile),
            certChain: readBuffer(tls.certFile),
          },
        }
      : {}),
    ...(auth ? { auth } : {}),
  });
}

function readBuffer(file: string): Buffer {
  return readFileSync(file);
}

/** Creates user root (role root) and turns auth on, the way `etcdctl auth enable` does. */
async function enableAuth(client: Etcd3, password: string): Promise<void> {
  try {
    await client.role('root').create();
    await client.user('root').create(password);
    await client.user('root').addRole('root');
    await client.auth.authEnable();
  } finally {
    client.close();
  }
}
