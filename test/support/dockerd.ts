// Real multi-node swarms for tests: one real dockerd per node on its own loopback address
// (reserveLoopback, block 30), its own short /tmp/sk-* directory, the engine label
// swarmkeeper.instance=<instanceId>. `cleanup()` always stops every dockerd, unmounts
// and removes the directories and releases the addresses, also when start-up failed
// half-way (startSwarm cleans up itself before rethrowing). Use it in afterAll/afterEach.
import { mkdtempSync, readFileSync } from 'node:fs';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import { removeNodeDirs, startDockerd, type DockerdProcess } from '../../src/swarm/dockerd-process.ts';
import { DockerSwarm } from '../../src/swarm/docker-swarm.ts';
import type { Role } from '../../src/spec/schema.ts';
import { makeOpensslCa } from './openssl-ca.ts';

export const DOCKERD_TEST_BLOCK = 30;

export interface TestDockerNode {
  readonly instanceId: string;
  readonly address: string;
  readonly dir: string;
  readonly role: Role;
  readonly process: DockerdProcess;
  /** A SwarmApi on this node's own socket. */
  readonly api: DockerSwarm;
}

export interface TestSwarm {
  readonly managers: readonly TestDockerNode[];
  readonly workers: readonly TestDockerNode[];
  readonly nodes: readonly TestDockerNode[];
  /** Starts one more dockerd (not joined) that `cleanup()` also removes. */
  addNode(role: Role): Promise<TestDockerNode>;
  cleanup(): Promise<void>;
}

export interface StartSwarmOptions {
  readonly managers: number;
  readonly workers: number;
  /** Prefix of the instance ids; default `t<pid>`. */
  readonly idPrefix?: string;
  /** false: start the dockerds only, no init/join (for tests of init/join themselves). Default true. */
  readonly form?: boolean;
}

/** Every node directory and address not yet cleaned up, for the last-resort exit hook. */
const live = new Map<string, { address: string; pid: () => number | undefined }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous last resort when a test run ends without afterAll (a crash, a bail-out).
  process.once('exit', () => {
    for (const [dir, { address, pid }] of live) {
      const p = pid();
      if (p !== undefined) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      try {
        removeNodeDirs(dir);
      } catch {
        // best effort at exit
      }
      releaseLoopback(address);
    }
  });
}

export async function startSwarm(opts: StartSwarmOptions): Promise<TestSwarm> {
  if (opts.managers < 1 && opts.form !== false) throw new Error('startSwarm: a swarm needs at least one manager');
  installExitHook();
  const prefix = opts.idPrefix ?? `t${process.pid}`;
  const started: TestDockerNode[] = [];
  const reserved: { address: string; dir: string }[] = [];
  let seq = 0;

  const addNode = async (role: Role): Promise<TestDockerNode> => {
    const address = reserveLoopback({ block: DOCKERD_TEST_BLOCK });
    const dir = mkdtempSync('/tmp/sk-');
    reserved.push({ address, dir });
    const started1: { pid?: number } = {};
    live.set(dir, { address, pid: () => started1.pid });
    const instanceId = `${prefix}-${role === 'manager' ? 'm' : 'w'}${seq++}`;
    const proc = await startDockerd({ address, dir, instanceId });
    started1.pid = proc.pid;
    const node = { instanceId, address, dir, role, process: proc, api: new DockerSwarm({ socketPath: proc.socketPath }) };
    started.push(node);
    return node;
  };

  const cleanup = async (): Promise<void> => {
    await Promise.all(started.map((n) => n.api.close().catch(() => undefined)));
    // SIGTERM lets dockerd unmount its own namespaces; a short bound keeps a failing test quick.
    await Promise.all(started.map((n) => n.process.stop(15_000).catch(() => n.process.kill())));
    const errors: unknown[] = [];
    for (const { address, dir } of reserved.splice(0)) {
      try {
        removeNodeDirs(dir);
      } catch (err) {
        errors.push(err);
      }
      releaseLoopback(address);
      live.delete(dir);
    }
    started.splice(0);
    if (errors.length > 0) throw errors[0];
  };

  try {
    const roles: Role[] = [...Array<Role>(opts.managers).fill('manager'), ...Array<Role>(opts.workers).fill('worker')];
    // Starting all dockerds at once is the fast path (the hand-run floor measurement in bench/converge-baseline.ts).
    const nodes = await Promise.all(roles.map((r) => addNode(r)));
    const managers = nodes.filter((n) => n.role === 'manager');
    const workers = nodes.filter((n) => n.role === 'worker');
    if (opts.form !== false) await formSwarm(managers, workers);
    return { managers, workers, nodes, addNode, cleanup };
  } catch (err) {
    await cleanup().catch(() => undefined);
    throw err;
  }
}

/** Inits on the first manager, joins the other managers one at a time, then the workers together. */
async function formSwarm(managers: readonly TestDockerNode[], workers: readonly TestDockerNode[]): Promise<void> {
  const [first, ...rest] = managers;
  if (!first) return;
  await first.api.init(`${first.address}:2377`, first.address);
  const tokens = await first.api.joinTokens();
  const remote = [`${first.address}:2377`];
  for (const m of rest) await m.api.join(remote, tokens.manager, `${m.address}:2377`, m.address);
  await Promise.all(workers.map((w) => w.api.join(remote, tokens.worker, `${w.address}:2377`, w.address)));
}

export interface DockerTestTls {
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  /** PEM text of the CA and of a client certificate and key it signed (what a DockerEndpoint carries). */
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/**
 * A throwaway CA, a server certificate for `address` (SAN IP) and a client certificate,
 * made with openssl in `dir` (EC keys: fast). `name` keeps several sets apart in one dir.
 */
export function makeDockerTlsCertificates(dir: string, address: string, name = 'docker'): DockerTestTls {
  const ca = makeOpensslCa(dir, `/CN=${name}-test-ca`, `${name}-`);
  const p = ca.file;
  ca.sign('server', '/CN=dockerd', `subjectAltName=IP:${address}\nextendedKeyUsage=serverAuth\n`);
  ca.sign('client', '/CN=swarmkeeper', 'extendedKeyUsage=clientAuth\n');
  const read = (f: string): string => readFileSync(p(f), 'utf8');
  return {
    caFile: p('ca.crt'),
    serverCertFile: p('server.crt'),
    serverKeyFile: p('server.key'),
    ca: read('ca.crt'),
    cert: read('client.crt'),
    key: read('client.key'),
  };
}
