// The EC2 implementation of the Provider port (src/providers/provider.ts); the error
// and idempotency semantics are the port's. Calls per steady-state reconcile: one
// DescribeInstances page per `pageSize` (1,000) instances of the cluster, plus one
// DescribeInstanceStatus per 100 running instances every `statusIntervalMs` (60 s).
import { readFileSync } from 'node:fs';
import type { Instance } from '../../model/snapshot.ts';
import { etcdClientUrl } from '../../model/snapshot.ts';
import type { Ec2ProviderSpec } from '../../spec/schema.ts';
import type { LaunchRequest, Provider } from '../provider.ts';
import { dockerEndpointFor, type DockerAccess, type DockerEndpoint } from '../../swarm/docker-endpoint.ts';
import { SwarmkeeperError } from '../../errors.ts';
import { silentLogger, type Logger } from '../../log.ts';
import { renderUserData, type UserDataFormat } from '../../cloudconfig/user-data.ts';
import { createEc2Client, sdkEc2Api, type Ec2Api } from './ec2-api.ts';
import { classifyEc2Error } from './ec2-errors.ts';
import { TAGS, instanceFromEc2, instanceTags } from './ec2-instances.ts';
import { launchInSubnets, type LaunchCall } from './ec2-launch.ts';
import { LaunchBackoff } from './launch-backoff.ts';
import { RecentLaunches } from './recent-launches.ts';
import { splitBatch, subnetPopulation, type LaunchChunk } from './subnet-spread.ts';

export interface Ec2ProviderOptions {
  readonly ec2: Ec2ProviderSpec;
  /** Injected API (tests, fault injection); default: the SDK client for ec2.region/endpoint. */
  readonly api?: Ec2Api;
  /** DescribeInstances page size (EC2: 5..1000). */
  readonly pageSize?: number;
  readonly statusIntervalMs?: number;
  readonly recentLaunchTtlMs?: number;
  readonly userDataFormat?: UserDataFormat;
  readonly docker?: DockerAccess;
  readonly backoff?: LaunchBackoff;
  readonly now?: () => number;
  readonly logger?: Logger;
  /** Sees every EC2 command sent (only used when `api` is not given). */
  readonly onCommand?: (name: string) => void;
}

const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down'];
const STATUS_BATCH = 100;

export class Ec2Provider implements Provider {
  readonly name = 'ec2' as const;
  private readonly api: Ec2Api;
  private readonly pageSize: number;
  private readonly statusIntervalMs: number;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly recent: RecentLaunches;
  private readonly backoff: LaunchBackoff;
  private readonly statusChecks = new Map<string, boolean>();
  private lastStatusAt = Number.NEGATIVE_INFINITY;
  private lastList: Instance[] = [];
  private access: DockerAccess | undefined;

  constructor(private readonly opts: Ec2ProviderOptions) {
    this.api =
      opts.api ??
      sdkEc2Api(
        createEc2Client({
          region: opts.ec2.region,
          ...(opts.ec2.endpoint ? { endpoint: opts.ec2.endpoint } : {}),
          ...(opts.onCommand ? { onCommand: opts.onCommand } : {}),
        }),
      );
    this.pageSize = opts.pageSize ?? 1000;
    this.statusIntervalMs = opts.statusIntervalMs ?? 60_000;
    this.now = opts.now ?? Date.now;
    this.log = opts.logger ?? silentLogger();
    this.recent = new RecentLaunches(opts.recentLaunchTtlMs ?? 600_000);
    this.backoff = opts.backoff ?? new LaunchBackoff();
  }

  async list(cluster: string): Promise<Instance[]> {
    const listed = await this.describe(cluster, [], 'listing the instances of cluster ' + cluster);
    await this.refreshStatusChecks(listed);
    const withStatus = listed.map((i) => this.withStatus(i));
    this.lastList = this.recent.merge(withStatus, this.now());
    return [...this.lastList];
  }

  async launch(req: LaunchRequest): Promise<Instance[]> {
    const doing = `launching ${req.count} ${req.role} instance(s) of cluster ${req.spec.name}`;
    const now = this.now();
    const earlier = await this.earlierLaunch(req, doing, now);
    if (earlier) return earlier;
    // Only new launches wait out a capacity or quota backoff; repeats are answered above.
    this.backoff.check(['quota', req.role], now);
    const call = this.launchCall(req, doing);
    const launched: Instance[] = [];
    let lastCapacityError: SwarmkeeperError | undefined;
    for (const chunk of this.chunksOf(req, call.ec2, now)) {
      let result: Awaited<ReturnType<typeof launchInSubnets>>;
      try {
        result = await launchInSubnets(this.api, this.log, call, chunk);
      } catch (err) {
        if (err instanceof SwarmkeeperError && err.code === 'Capacity') this.backoff.fail('quota', err, this.now());
        this.rememberPartial(req.clientToken, launched);
        throw err;
      }
      lastCapacityError = result.capacityError ?? lastCapacityError;
      if (!result.instances) break;
      launched.push(...result.instances);
    }
    return this.settleLaunch(call, launched, lastCapacityError);
  }

  /** What an earlier call with this client token launched: remembered, or (after a restart) found by its tag. */
  private async earlierLaunch(req: LaunchRequest, doing: string, now: number): Promise<Instance[] | undefined> {
    const remembered = this.recent.launchedWith(req.clientToken, now);
    if (remembered) return [...remembered];
    const earlier = await this.describe(req.spec.name, [{ Name: `tag:${TAGS.clientToken}`, Values: [req.clientToken] }], doing);
    if (earlier.length === 0) return undefined;
    this.recent.remember(req.clientToken, earlier, now);
    return earlier;
  }

  private launchCall(req: LaunchRequest, doing: string): LaunchCall {
    const ec2 = req.spec.provider.ec2 ?? this.opts.ec2;
    const userData = renderUserData({
      agent: req.agent,
      units: req.role === 'manager' ? req.spec.managers.units : req.spec.workers.units,
      format: ec2.userDataFormat ?? this.opts.userDataFormat ?? 'cloud-config',
      // The cluster's record (agent.dockerTls) decides, so a controller on a manager's socket
      // keeps giving new managers docker TLS; this controller reaching them over TLS needs it too.
      dockerTls: req.agent.dockerTls === true || !('socketPath' in this.dockerAccess()),
    });
    const tags = instanceTags({
      cluster: req.spec.name,
      role: req.role,
      configHash: req.configHash,
      clientToken: req.clientToken,
      extra: ec2.tags,
    });
    return { req, ec2, doing, userData, tags };
  }

  /** The batch water-filled into the spec's subnets (preferred zone first, then the least populated by this role). */
  private chunksOf(req: LaunchRequest, ec2: Ec2ProviderSpec, now: number): LaunchChunk[] {
    const known = this.recent.merge(this.lastList, now);
    const population = subnetPopulation(ec2.subnetIds, known, req.role);
    const zones = new Map(known.filter((i) => i.subnetId && i.zone).map((i) => [i.subnetId as string, i.zone as string]));
    return splitBatch(req.count, ec2.subnetIds, population, req.zone, zones);
  }

  /**
   * Short of the count after "no capacity" everywhere: the role backs off, what did start
   * is remembered and returned, and nothing started is a Capacity error saying when the
   * next try is. Otherwise the backoffs clear.
   */
  private settleLaunch(call: LaunchCall, launched: Instance[], lastCapacityError: SwarmkeeperError | undefined): Instance[] {
    const { req } = call;
    if (launched.length < req.count && lastCapacityError) {
      const retryAt = this.backoff.fail(req.role, lastCapacityError, this.now());
      this.rememberPartial(req.clientToken, launched);
      if (launched.length > 0) return launched;
      throw new SwarmkeeperError(
        'Capacity',
        `${call.doing}: no capacity in any of the spec's subnets; retrying after ${new Date(retryAt).toISOString()}`,
        { cause: lastCapacityError, details: { ...lastCapacityError.details, retryAt } },
      );
    }
    this.backoff.succeed(req.role);
    this.backoff.succeed('quota');
    this.recent.remember(req.clientToken, launched, this.now());
    return launched;
  }

  async terminate(cluster: string, instanceId: string): Promise<void> {
    const doing = `terminating instance ${instanceId} of cluster ${cluster}`;
    const known = this.lastList.some((i) => i.id === instanceId);
    if (!known) {
      // Only ever terminate what carries this cluster's tag; an unknown id that is not
      // (or no longer) visible under the tag is gone as far as this cluster goes.
      const found = await this.describe(cluster, [{ Name: 'instance-id', Values: [instanceId] }], doing);
      if (found.length === 0) return;
    }
    try {
      this.log.info({ instanceId }, 'Terminating instance');
      await this.api.terminateInstances([instanceId]);
    } catch (err) {
      const e = classifyEc2Error(err, { doing, region: this.opts.ec2.region });
      if (e.code !== 'NotFound') throw e;
    }
    this.recent.forget(instanceId);
    this.lastList = this.lastList.filter((i) => i.id !== instanceId);
  }

  dockerEndpoint(instance: Instance): DockerEndpoint {
    return dockerEndpointFor(this.dockerAccess(), instance.address, instance.id);
  }

  etcdClientUrl(instance: Instance): string {
    if (!instance.address) throw new SwarmkeeperError('Precondition', `instance ${instance.id} has no private address yet`);
    return etcdClientUrl(instance.address);
  }

  async close(): Promise<void> {
    this.api.close();
  }

  private dockerAccess(): DockerAccess {
    this.access ??= this.opts.docker ?? dockerAccessFromEnv();
    return this.access;
  }

  private rememberPartial(token: string, launched: readonly Instance[]): void {
    if (launched.length > 0) this.recent.remember(token, launched, this.now());
  }

  private withStatus(i: Instance): Instance {
    const ok = this.statusChecks.get(i.id);
    return ok === undefined ? i : { ...i, statusChecksOk: ok };
  }

  private async describe(cluster: string, extra: { Name: string; Values: string[] }[], doing: string): Promise<Instance[]> {
    const out: Instance[] = [];
    try {
      const filters = [{ Name: `tag:${TAGS.cluster}`, Values: [cluster] }, { Name: 'instance-state-name', Values: LIVE_STATES }, ...extra];
      for await (const page of this.api.describeInstancesPages({ Filters: filters }, this.pageSize)) {
        for (const r of page)
          for (const i of r.Instances ?? []) {
            const inst = instanceFromEc2(i);
            if (inst) out.push(inst);
          }
      }
    } catch (err) {
      // Never a partial list as if it were complete (port contract).
      throw classifyEc2Error(err, { doing, region: this.opts.ec2.region });
    }
    return out;
  }

  /** Status checks on their own cadence, so a steady-state reconcile costs DescribeInstances only. */
  private async refreshStatusChecks(instances: readonly Instance[]): Promise<void> {
    const now = this.now();
    // A non-finite interval turns status checks off.
    if (!Number.isFinite(this.statusIntervalMs) || now - this.lastStatusAt < this.statusIntervalMs) return;
    const running = instances.filter((i) => i.state === 'running').map((i) => i.id);
    this.lastStatusAt = now;
    if (running.length === 0) return;
    try {
      const fresh = new Map<string, boolean>();
      for (let k = 0; k < running.length; k += STATUS_BATCH) {
        for await (const page of this.api.describeInstanceStatus({ InstanceIds: running.slice(k, k + STATUS_BATCH) })) {
          for (const s of page) {
            const ok = statusOk(s.InstanceStatus?.Status, s.SystemStatus?.Status);
            if (s.InstanceId && ok !== undefined) fresh.set(s.InstanceId, ok);
          }
        }
      }
      this.statusChecks.clear();
      for (const [id, ok] of fresh) this.statusChecks.set(id, ok);
    } catch (err) {
      // A health signal, not the inventory: keep the last known checks and say so.
      this.log.warn({ err: classifyEc2Error(err, { doing: 'describing instance status checks' }) }, 'Status checks unavailable this cycle');
    }
  }
}

function statusOk(instance?: string, system?: string): boolean | undefined {
  if (instance === 'impaired' || system === 'impaired') return false;
  if (instance === 'ok' && system === 'ok') return true;
  return undefined;
}

/** SWARMKEEPER_DOCKER_TLS_{CA,CERT,KEY} (file paths) select TLS; else the local socket. */
export function dockerAccessFromEnv(env: NodeJS.ProcessEnv = process.env): DockerAccess {
  const { SWARMKEEPER_DOCKER_TLS_CA: ca, SWARMKEEPER_DOCKER_TLS_CERT: cert, SWARMKEEPER_DOCKER_TLS_KEY: key } = env;
  if (ca && cert && key) {
    return {
      port: Number(env.SWARMKEEPER_DOCKER_TLS_PORT ?? 2376),
      ca: readFileSync(ca, 'utf8'),
      cert: readFileSync(cert, 'utf8'),
      key: readFileSync(key, 'utf8'),
    };
  }
  if (ca || cert || key) {
    throw new SwarmkeeperError(
      'Usage',
      'SWARMKEEPER_DOCKER_TLS_CA, _CERT and _KEY must be set together (the Docker API is never used over plain TCP)',
    );
  }
  return { socketPath: env.SWARMKEEPER_DOCKER_SOCKET ?? '/var/run/docker.sock' };
}
