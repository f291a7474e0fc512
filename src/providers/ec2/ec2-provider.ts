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
import { capacityKindOf, classifyEc2Error } from './ec2-errors.ts';
import { TAGS, instanceFromEc2, instanceTags, tagSpecifications } from './ec2-instances.ts';
import { LaunchBackoff } from './launch-backoff.ts';
import { RecentLaunches } from './recent-launches.ts';
import { callClientToken, splitBatch, subnetPopulation } from './subnet-spread.ts';

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
    const ec2 = req.spec.provider.ec2 ?? this.opts.ec2;
    const doing = `launching ${req.count} ${req.role} instance(s) of cluster ${req.spec.name}`;
    const now = this.now();
    const remembered = this.recent.launchedWith(req.clientToken, now);
    if (remembered) return [...remembered];
    // A restarted controller has no memory: the client-token tag tells what a previous
    // run of this same launch intent already started.
    const earlier = await this.describe(req.spec.name, [{ Name: `tag:${TAGS.clientToken}`, Values: [req.clientToken] }], doing);
    if (earlier.length > 0) {
      this.recent.remember(req.clientToken, earlier, now);
      return earlier;
    }
    // Only new launches wait out a capacity or quota backoff; repeats are answered above.
    this.backoff.check(['quota', req.role], now);
    const userData = renderUserData({
      agent: req.agent,
      units: req.role === 'manager' ? req.spec.managers.units : req.spec.workers.units,
      format: ec2.userDataFormat ?? this.opts.userDataFormat ?? 'cloud-config',
      dockerTls: !('socketPath' in this.dockerAccess()),
    });
    const known = this.recent.merge(this.lastList, now);
    const population = subnetPopulation(ec2.subnetIds, known, req.role);
    const zones = new Map(known.filter((i) => i.subnetId && i.zone).map((i) => [i.subnetId as string, i.zone as string]));
    const chunks = splitBatch(req.count, ec2.subnetIds, population, req.zone, zones);
    const tags = instanceTags({
      cluster: req.spec.name,
      role: req.role,
      configHash: req.configHash,
      clientToken: req.clientToken,
      extra: ec2.tags,
    });
    const launched: Instance[] = [];
    let lastCapacityError: SwarmkeeperError | undefined;
    for (const chunk of chunks) {
      // On "no capacity here", the same chunk is tried in the other subnets in order.
      const tryOrder = [chunk.subnetId, ...ec2.subnetIds.filter((s) => s !== chunk.subnetId)];
      let done = false;
      for (const subnetId of tryOrder) {
        try {
          this.log.info(
            { role: req.role, count: chunk.count, subnetId, clientToken: req.clientToken, userDataBytes: userData.size.rawBytes },
            'Launching instances',
          );
          const out = await this.api.runInstances({
            ImageId: ec2.imageId,
            InstanceType: (req.role === 'manager' ? req.spec.managers.instanceType : req.spec.workers.instanceType) as never,
            MinCount: chunk.count,
            MaxCount: chunk.count,
            SubnetId: subnetId,
            SecurityGroupIds: [...ec2.securityGroupIds],
            ...(ec2.keyName ? { KeyName: ec2.keyName } : {}),
            ...(ec2.iamInstanceProfile
              ? {
                  IamInstanceProfile: ec2.iamInstanceProfile.startsWith('arn:')
                    ? { Arn: ec2.iamInstanceProfile }
                    : { Name: ec2.iamInstanceProfile },
                }
              : {}),
            UserData: Buffer.from(userData.text, 'utf8').toString('base64'),
            TagSpecifications: tagSpecifications(tags),
            // One hop: everything on the node that needs metadata (the metadata unit, the
            // agent with --net=host) is in the host's network namespace; a container on a
            // bridge network is a hop further and cannot reach the user-data's token.
            MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 },
            ClientToken: callClientToken(req.clientToken, subnetId, chunk.count),
          });
          for (const i of out.Instances ?? []) {
            const inst = instanceFromEc2({
              ...i,
              Tags: i.Tags?.length ? i.Tags : Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
            });
            if (inst) launched.push(inst);
          }
          done = true;
          break;
        } catch (err) {
          const e = classifyEc2Error(err, { doing: `${doing} in ${subnetId}`, region: ec2.region });
          if (e.code === 'Capacity' && capacityKindOf(e) === 'capacity') {
            this.log.warn({ subnetId, ec2Code: e.details.ec2Code }, 'No capacity in subnet, trying the next one');
            lastCapacityError = e;
            continue;
          }
          if (e.code === 'Capacity') this.backoff.fail('quota', e, this.now());
          this.rememberPartial(req.clientToken, launched);
          throw e;
        }
      }
      if (!done) break;
    }
    if (launched.length < req.count && lastCapacityError) {
      const retryAt = this.backoff.fail(req.role, lastCapacityError, this.now());
      this.rememberPartial(req.clientToken, launched);
      if (launched.length === 0) {
        throw new SwarmkeeperError(
          'Capacity',
          `${doing}: no capacity in any of the spec's subnets; retrying after ${new Date(retryAt).toISOString()}`,
          {
            cause: lastCapacityError,
            details: { ...lastCapacityError.details, retryAt },
          },
        );
      }
      return launched;
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
