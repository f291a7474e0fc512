// The processes a node agent supervises: its etcd member (managers, through
// startEtcdProcess) or its etcd gateway (workers). Both run in the agent's process group
// (not detached) with pid files at fixed places under the agent's data dir, so the local
// provider can stop them when it terminates the instance and a re-run agent can clean
// up what an earlier one left.
import { startEtcdProcess, stopEtcdByPidFile } from '../etcd/etcd-process.ts';
import { startGateway, stopGatewayByPidFile } from './gateway-process.ts';

export interface AgentPaths {
  readonly etcdDataDir: string;
  readonly etcdPidFile: string;
  readonly etcdLogFile: string;
  readonly gatewayPidFile: string;
  readonly gatewayLogFile: string;
}

/** The supervised process of a node. */
export type NodeChild =
  | { readonly kind: 'etcd'; readonly pid: number; isRunning(): boolean; stop(): Promise<void> }
  | { readonly kind: 'gateway'; readonly pid: number; readonly endpoints: readonly string[]; isRunning(): boolean; stop(): Promise<void> };

export interface NodeEtcdOptions {
  readonly name: string;
  readonly cluster: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  /** new: a single-member cluster; existing: join (initialCluster required); resume: from the data dir. */
  readonly mode: 'new' | 'existing' | 'resume';
  readonly initialCluster?: string;
  readonly paths: AgentPaths;
}

export async function startNodeEtcd(opts: NodeEtcdOptions): Promise<NodeChild> {
  const proc = await startEtcdProcess({
    name: opts.name,
    dataDir: opts.paths.etcdDataDir,
    clientUrls: [opts.clientUrl],
    peerUrl: opts.peerUrl,
    // Ignored by etcd when the data dir already holds a member (resume).
    initialCluster: opts.initialCluster ?? `${opts.name}=${opts.peerUrl}`,
    initialClusterState: opts.mode === 'new' ? 'new' : 'existing',
    // Unique per new cluster, so a member of an old cluster on a reused address never
    // mistakes it for this one.
    initialClusterToken: `sk-${opts.cluster}-${opts.name}`,
    pidFile: opts.paths.etcdPidFile,
    logFile: opts.paths.etcdLogFile,
    // A joining learner or a member of a cluster without quorum is not /health-y on its
    // own: for those, listening is enough; the controller watches their health.
    waitFor: opts.mode === 'new' ? 'health' : 'listening',
    startTimeoutMs: 60_000,
  });
  return { kind: 'etcd', pid: proc.pid, isRunning: () => proc.isRunning(), stop: () => proc.stop(10_000) };
}

export async function startNodeGateway(opts: {
  endpoints: readonly string[];
  listenAddress: string;
  paths: AgentPaths;
}): Promise<NodeChild> {
  const gw = await startGateway({
    endpoints: opts.endpoints,
    listenAddress: opts.listenAddress,
    pidFile: opts.paths.gatewayPidFile,
    logFile: opts.paths.gatewayLogFile,
  });
  return { kind: 'gateway', pid: gw.pid, endpoints: gw.endpoints, isRunning: () => gw.isRunning(), stop: () => gw.stop() };
}

/** Stops an etcd member or gateway an earlier agent run left behind (by pid file). */
export async function stopLeftoverProcesses(paths: AgentPaths): Promise<void> {
  await stopEtcdByPidFile(paths.etcdPidFile);
  await stopGatewayByPidFile(paths.gatewayPidFile);
}
