// The baseline for bench/converge.ts: the same processes swarmkeeper's local provider
// starts (a dockerd per node, an etcd member per manager, an etcd gateway per worker)
// and the same joins, run directly in the best order a person could script by hand:
// every dockerd at once; etcd grown one learner at a time (add learner, start it,
// promote when caught up); swarm init on the first manager, the other managers joined
// with the manager token one after the other, all workers joined in parallel.
// Returns the time from nothing to converged, and cleans everything up.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { startEtcdProcess, type EtcdProcess } from '../src/etcd/etcd-process.ts';
import { releaseLoopback, reserveLoopback } from '../src/net/loopback-pool.ts';
import { startGateway, type GatewayProcess } from '../src/node/gateway-process.ts';
import { DockerSwarm } from '../src/swarm/docker-swarm.ts';
import { removeNodeDirs, startDockerd, type DockerdProcess } from '../src/swarm/dockerd-process.ts';

export interface BaselineResult {
  readonly totalMs: number;
  readonly phases: Record<string, number>;
}

export async function runBaseline(opts: { managers: number; workers: number; block: number }): Promise<BaselineResult> {
  const dir = mkdtempSync('/tmp/skb-');
  const n = opts.managers + opts.workers;
  const addresses = Array.from({ length: n }, () => reserveLoopback({ block: opts.block }));
  const dockerds: DockerdProcess[] = [];
  const etcds: EtcdProcess[] = [];
  const gateways: GatewayProcess[] = [];
  const swarms: DockerSwarm[] = [];
  let client: Etcd3 | undefined;
  const phases: Record<string, number> = {};
  const t0 = performance.now();
  const mark = (name: string): void => {
    phases[name] = Math.round(performance.now() - t0);
  };
  try {
    // Every dockerd at once.
    const started = await Promise.all(
      addresses.map((address, i) => startDockerd({ address, dir: join(dir, `n${i}`), instanceId: `b${i}` })),
    );
    dockerds.push(...started);
    swarms.push(...started.map((d) => new DockerSwarm({ socketPath: d.socketPath })));
    mark('dockerd');
    const mAddr = addresses.slice(0, opts.managers);
    const wAddr = addresses.slice(opts.managers);

    const swarmSide = (async () => {
      await swarms[0]!.init(`${mAddr[0]}:2377`, mAddr[0]!);
      const tokens = await swarms[0]!.joinTokens();
      const remote = [`${mAddr[0]}:2377`];
      const workers = Promise.all(wAddr.map((a, i) => swarms[opts.managers + i]!.join(remote, tokens.worker, `${a}:2377`, a)));
      for (let i = 1; i < opts.managers; i++) await swarms[i]!.join(remote, tokens.manager, `${mAddr[i]}:2377`, mAddr[i]!);
      await workers;
      mark('swarm joined');
    })();

    const etcdSide = (async () => {
      const first = await startEtcdProcess(member(dir, mAddr[0]!, 'm0', `m0=http://${mAddr[0]}:2380`, 'new'));
      etcds.push(first);
      mark('etcd m0 listening');
      client = new Etcd3({ hosts: `http://${mAddr[0]}:2379` });
      let initial = `m0=http://${mAddr[0]}:2380`;
      for (let i = 1; i < opts.managers; i++) {
        const peer = `http://${mAddr[i]}:2380`;
        const added = await retry(() => client!.cluster.memberAdd({ peerURLs: [peer], isLearner: true }));
        mark(`learner m${i} added`);
        initial += `,m${i}=${peer}`;
        etcds.push(await startEtcdProcess(member(dir, mAddr[i]!, `m${i}`, initial, 'existing')));
        mark(`learner m${i} listening`);
        await retry(() => client!.cluster.memberPromote({ ID: added.member.ID }));
        mark(`learner m${i} promoted`);
      }
      mark('etcd grown');
      const endpoints = mAddr.map((a) => `${a}:2379`);
      gateways.push(
        ...(await Promise.all(
          wAddr.map((a, i) =>
            startGateway({ endpoints, listenAddress: a, pidFile: join(dir, `g${i}.pid`), logFile: join(dir, `g${i}.log`) }),
          ),
        )),
      );
      mark('gateways');
    })();
    await Promise.all([swarmSide, etcdSide]);
    // Converged: every node ready in the swarm, managers reachable.
    for (;;) {
      const nodes = await swarms[0]!.listNodes();
      const ready = nodes.filter((x) => x.state === 'ready');
      const managers = ready.filter((x) => x.role === 'manager' && x.reachability === 'reachable');
      if (ready.length === n && managers.length === opts.managers) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    mark('converged');
    return { totalMs: Math.round(performance.now() - t0), phases };
  } finally {
    client?.close();
    await Promise.all(swarms.map((s) => s.close().catch(() => undefined)));
    await Promise.all(gateways.map((g) => g.stop().catch(() => undefined)));
    await Promise.all(etcds.map((e) => e.stop().catch(() => undefined)));
    await Promise.all(dockerds.map((d) => d.stop().catch(() => undefined)));
    for (let i = 0; i < n; i++) {
      try {
        removeNodeDirs(join(dir, `n${i}`));
      } catch {
        // best effort; rmSync below reports nothing either
      }
    }
    rmSync(dir, { recursive: true, force: true });
    for (const a of addresses) releaseLoopback(a);
  }
}

function member(dir: string, address: string, name: string, initialCluster: string, state: 'new' | 'existing') {
  return {
    name,
    dataDir: join(dir, `${name}.etcd`),
    clientUrls: [`http://${address}:2379`],
    peerUrl: `http://${address}:2380`,
    initialCluster,
    initialClusterState: state,
    waitFor: 'listening' as const,
  };
}

/** etcd refuses membership changes for ~5 s after members connect, and promotion until caught up. */
async function retry<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
