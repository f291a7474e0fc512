// The `local` provider: every instance is real processes on this machine. A dockerd on
// its own 127.<block>.x.y address (engine label swarmkeeper.instance=<id>), its own
// directory, and a node agent (`swarmkeeper node bootstrap`) that starts the etcd member
// (managers) or etcd gateway (workers) and joins the node, exactly as on EC2. It is the
// embedded default and what `swarmkeeper demo` runs.
//
// State lives on disk (instance-records.ts), so a new LocalProvider, in a restarted
// controller, sees the same instances. Processes are detached: they outlive the
// controller, as machines outlive it.
//
// How a dead node looks (what the controller's planner and detectors see):
// - dockerd gone                   -> state 'stopped': the machine is dead; the planner
//   replaces a stopped instance at once (its etcd member and swarm node go with it).
// - dockerd up, node agent gone    -> state 'running', statusChecksOk false: a health
//   detector marks it and it is replaced after the hold-down, like failing EC2 checks.
// - record written, processes starting or dockerd not answering yet -> 'pending'
//   (booting.ts); being terminated -> 'shutting-down'.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SwarmkeeperError, wrapError } from '../../errors.ts';
import { silentLogger, type Logger } from '../../log.ts';
import { DEFAULT_POOL_DIR, releaseLoopback, reserveLoopback, transferLoopback } from '../../net/loopback-pool.ts';
import type { Instance, InstanceState } from '../../model/snapshot.ts';
import type { LocalProviderSpec } from '../../spec/schema.ts';
import { dockerdPaths, removeNodeDirsAsync, spawnNodeDockerd } from '../../swarm/dockerd-process.ts';
import type { LaunchRequest, Provider } from '../provider.ts';
import type { DockerEndpoint } from '../../swarm/docker-endpoint.ts';
import { deleteRecord, listRecords, nodeDirOf, readRecord, stateDir, writeRecord, type InstanceRecord } from './instance-records.ts';
import { livenessOf, spawnAgent, stopNodeProcesses, type NodeLiveness } from './node-processes.ts';
import { BootWaits, bootingLiveness, settleBooting } from './booting.ts';
import { assertLocalPrerequisites } from './preflight.ts';
import { readTokenLedger, writeTokenLedger } from './token-ledger.ts';
import { instanceIdOf, validateLaunch } from './launch-request.ts';

// Re-exported: tests and tools name instances as the provider does.
export { instanceIdOf } from './launch-request.ts';

/** Short on purpose: dockerd's unix sockets live under <baseDir>/n/<id>/ (108-byte limit). */
export const DEFAULT_LOCAL_BASE_DIR = join(tmpdir(), 'sk');
export const DEFAULT_ADDRESS_BLOCK = 200;

export interface LocalProviderOptions {
  readonly baseDir?: string;
  /** Second octet of the 127.N.x.y addresses instances get. */
  readonly addressBlock?: number;
  /** Loopback reservation directory (tests isolate it). */
  readonly poolDir?: string;
  /** argv prefix that runs the swarmkeeper CLI for node agents. */
  readonly agentCommand?: readonly string[];
  readonly agentLogLevel?: string;
  readonly logger?: Logger;
  /** Skip the dockerd/etcd/root check (unit tests of listing only). */
  readonly skipPreflight?: boolean;
}

export class LocalProvider implements Provider {
  readonly name = 'local' as const;
  /** Each cycle reads records and /proc: re-checking often finds a started member sooner. */
  readonly convergingRecheckMs = 100;
  readonly baseDir: string;
  private readonly block: number;
  private readonly poolDir: string;
  private readonly log: Logger;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly terminating = new Map<string, Promise<void>>();
  private readonly boots: BootWaits;

  constructor(private readonly opts: LocalProviderOptions = {}) {
    this.baseDir = opts.baseDir ?? DEFAULT_LOCAL_BASE_DIR;
    this.block = opts.addressBlock ?? DEFAULT_ADDRESS_BLOCK;
    this.poolDir = opts.poolDir ?? DEFAULT_POOL_DIR;
    this.log = (opts.logger ?? silentLogger()).child({ provider: 'local' });
    this.boots = new BootWaits(this.baseDir, this.log);
  }

  /** The provider a spec's `provider.local` block describes. */
  static fromSpec(spec: LocalProviderSpec | undefined, opts: Omit<LocalProviderOptions, 'baseDir' | 'addressBlock'> = {}): LocalProvider {
    return new LocalProvider({
      ...opts,
      ...(spec?.baseDir ? { baseDir: spec.baseDir } : {}),
      ...(spec?.addressBlock ? { addressBlock: spec.addressBlock } : {}),
    });
  }

  async list(cluster: string): Promise<Instance[]> {
    try {
      const records = await Promise.all(
        listRecords(this.baseDir, cluster).map((r) => (this.boots.isWatching(r.id) ? r : settleBooting(this.baseDir, r))),
      );
      return records.map((r) => this.toInstance(r));
    } catch (err) {
      throw wrapError(`listing local instances of ${cluster} under ${this.baseDir}`, err);
    }
  }

  launch(req: LaunchRequest): Promise<Instance[]> {
    return this.serialised(() => this.launchNow(req));
  }

  /** Terminations of different instances run in parallel; a repeat joins the one in flight. */
  terminate(cluster: string, instanceId: string): Promise<void> {
    const key = `${cluster}/${instanceId}`;
    const inFlight = this.terminating.get(key);
    if (inFlight) return inFlight;
    const run = this.terminateNow(cluster, instanceId).finally(() => this.terminating.delete(key));
    this.terminating.set(key, run);
    return run;
  }

  dockerEndpoint(instance: Instance): DockerEndpoint {
    return { socketPath: dockerdPaths(nodeDirOf(this.baseDir, instance.id)).socketPath };
  }

  etcdClientUrl(instance: Instance): string {
    if (!instance.address) throw new SwarmkeeperError('NotFound', `local instance ${instance.id} has no address`);
    return `http://${instance.address}:2379`;
  }

  /** Removes the cluster's state directory (records, launch-token ledger) once no record is left. */
  async forgetCluster(cluster: string): Promise<void> {
    const left = await this.list(cluster);
    if (left.length > 0)
      throw new SwarmkeeperError(
        'Conflict',
        `forgetting local cluster ${cluster}: ${left.length} instance(s) still exist (${left.map((i) => i.id).join(', ')})`,
      );
    rmSync(stateDir(this.baseDir, cluster), { recursive: true, force: true });
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    await Promise.allSettled([...this.terminating.values()]);
    await this.boots.close();
  }

  /** Launches one at a time: a token is looked up and recorded in one go. */
  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async launchNow(req: LaunchRequest): Promise<Instance[]> {
    const cluster = req.spec.name;
    validateLaunch(req);
    // Idempotent on the client token, also after the instances are gone (as EC2 is):
    // a repeat returns what is left of the first launch and starts nothing.
    const known = readTokenLedger(this.baseDir, cluster, req.clientToken);
    if (known) {
      const records = known.flatMap((id) => {
        const r = readRecord(this.baseDir, cluster, id);
        return r ? [r] : [];
      });
      // A record still 'launching' here was left by a launcher that died mid-launch
      // (launches are serialised within a provider, and only the leading controller
      // launches). Finish it: the journal re-issues an interrupted launch with its token
      // after a crash, and that repeat must yield a node, not a pending husk. A booting
      // one boots on: its dockerd's first answer settles it (booting.ts).
      return Promise.all(
        records.map(async (r) =>
          r.phase === 'launching' ? this.finishInterruptedLaunch(r, req) : this.toInstance(await settleBooting(this.baseDir, r)),
        ),
      );
    }
    if (!this.opts.skipPreflight) assertLocalPrerequisites();
    const ids = Array.from({ length: req.count }, (_, i) => instanceIdOf(this.baseDir, cluster, req.clientToken, i));
    writeTokenLedger(this.baseDir, cluster, req.clientToken, ids);
    const now = Date.now();
    const records = ids.map((id, i): InstanceRecord => {
      const address = reserveLoopback({ block: this.block, dir: this.poolDir });
      // Held until terminate releases it: a dead node's address must not go to a new
      // node while the dead etcd member may still name it.
      transferLoopback(address, 1, this.poolDir);
      const rec: InstanceRecord = {
        id,
        cluster,
        role: req.role,
        address,
        configHash: req.configHash,
        clientToken: req.clientToken,
        launchIndex: i,
        launchedAt: now,
        nodeDir: nodeDirOf(this.baseDir, id),
        phase: 'launching',
        pids: {},
        ...(req.zone ? { zone: req.zone } : {}),
      };
      writeRecord(this.baseDir, rec);
      return rec;
    });
    this.log.info({ cluster, role: req.role, ids }, 'Launching local instances');
    const results = await Promise.allSettled(records.map((r) => this.startInstance(r, req)));
    const failed = results.flatMap((res, i) =>
      res.status === 'rejected' ? [{ rec: records[i] as InstanceRecord, err: res.reason as unknown }] : [],
    );
    for (const f of failed) await this.terminateNow(cluster, f.rec.id).catch(() => undefined);
    if (failed.length > 0) {
      const first = failed[0] as { rec: InstanceRecord; err: unknown };
      throw wrapError(`launching local instance ${first.rec.id} (${failed.length} of ${records.length} failed)`, first.err, 'Capacity');
    }
    return results.flatMap((res) => (res.status === 'fulfilled' ? [res.value] : []));
  }

  private async finishInterruptedLaunch(rec: InstanceRecord, req: LaunchRequest): Promise<Instance> {
    if (!this.opts.skipPreflight) assertLocalPrerequisites();
    this.log.info({ cluster: rec.cluster, instanceId: rec.id }, 'Finishing an interrupted local launch');
    // Whatever the dead launcher had half-started goes first; then start from the record.
    await stopNodeProcesses(rec.nodeDir, rec.id);
    return this.startInstance(rec, req);
  }

  /**
   * Spawns the node's processes and returns it booting ('pending'), as RunInstances
   * does: the wait for its dockerd's first answer goes on in the background (booting.ts).
   */
  private async startInstance(rec: InstanceRecord, req: LaunchRequest): Promise<Instance> {
    // The agent is spawned first and loads while dockerd starts (it waits until its
    // engine answers): loading it takes longer than dockerd's start, so the node is up
    // that much sooner. A dockerd that cannot be spawned fails the launch, and the
    // launch's clean-up stops the agent by its pid file.
    mkdirSync(rec.nodeDir, { recursive: true });
    const agent = spawnAgent({
      agent: req.agent,
      instanceId: rec.id,
      address: rec.address,
      nodeDir: rec.nodeDir,
      ...(this.opts.agentCommand ? { command: this.opts.agentCommand } : {}),
      ...(this.opts.agentLogLevel ? { logLevel: this.opts.agentLogLevel } : {}),
    });
    const dockerd = await spawnNodeDockerd({
      address: rec.address,
      dir: rec.nodeDir,
      instanceId: rec.id,
      detached: true,
      labels: { 'swarmkeeper.cluster': rec.cluster },
      // A slow boot is the planner's to give up on (its startup timeout), not this wait's.
      readyTimeoutMs: req.spec.healing.nodeStartupTimeoutSeconds * 1000,
      signal: this.boots.signal,
    });
    const booting: InstanceRecord = { ...rec, phase: 'booting', pids: { dockerd: dockerd.process.pid, agent } };
    writeRecord(this.baseDir, booting);
    this.boots.watch(booting, dockerd.answering);
    this.log.info({ instanceId: rec.id, address: rec.address, dockerdPid: dockerd.process.pid, agentPid: agent }, 'Started local instance');
    return this.toInstance(booting);
  }

  private async terminateNow(cluster: string, instanceId: string): Promise<void> {
    const rec = readRecord(this.baseDir, cluster, instanceId);
    const nodeDir = rec?.nodeDir ?? nodeDirOf(this.baseDir, instanceId);
    if (!rec && !existsSync(nodeDir)) return; // gone already: the goal state
    this.log.info({ cluster, instanceId }, 'Terminating local instance');
    if (rec) writeRecord(this.baseDir, { ...rec, phase: 'terminating' });
    try {
      await stopNodeProcesses(nodeDir, instanceId, rec?.pids.dockerd);
      await removeNodeDirsAsync(nodeDir);
    } catch (err) {
      throw wrapError(`terminating local instance ${instanceId}`, err);
    }
    if (rec) releaseLoopback(rec.address, this.poolDir);
    deleteRecord(this.baseDir, cluster, instanceId);
  }

  private toInstance(r: InstanceRecord): Instance {
    const live = r.phase === 'running' ? livenessOf(r.nodeDir, r.id) : r.phase === 'booting' ? bootingLiveness(r) : undefined;
    return {
      id: r.id,
      role: r.role,
      state: instanceStateOf(r.phase, live),
      launchedAt: r.launchedAt,
      address: r.address,
      ...(r.zone ? { zone: r.zone } : {}),
      configHash: r.configHash,
      clientToken: r.clientToken,
      tags: { 'swarmkeeper.cluster': r.cluster, 'swarmkeeper.role': r.role, 'swarmkeeper.local/node-dir': r.nodeDir },
      ...(live && r.phase === 'running' ? { statusChecksOk: live.dockerd && live.agent } : {}),
    };
  }
}

/** The Instance state of a record: see the header for why a dead dockerd is 'stopped'. */
export function instanceStateOf(phase: InstanceRecord['phase'], live: NodeLiveness | undefined): InstanceState {
  if (phase === 'launching') return 'pending';
  if (phase === 'terminating') return 'shutting-down';
  if (phase === 'booting') return live?.dockerd === false ? 'stopped' : 'pending';
  return live?.dockerd ? 'running' : 'stopped';
}
