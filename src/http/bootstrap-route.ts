// POST /v1/bootstrap: a booting EC2 node exchanges its one-time bootstrap token
// (src/store/bootstrap-tokens.ts) for what it needs to join: the swarm worker join token
// (every node joins as a worker; the controller promotes managers), the managers' swarm
// addresses and etcd client URLs, or, for the first manager of a new cluster, the
// instruction to initialise. POST /v1/bootstrap/initialized: that first manager
// reports the join tokens of the swarm it created, with the same token. The answer also
// carries the node's credential for GET /v1/bootstrap/endpoints (endpoints-route.ts,
// mounted with this plugin): nodes never get management etcd access.
//
// Order of checks (each before any work the next costs, nothing consumed on failure):
// body schema (400); token verified for this instance, hash compared in constant time
// (401, one answer for every kind of bad token so the answer leaks nothing); the
// instance belongs to the token's launch and, when required, the request comes from
// its private address (401); the cluster is ready for this node (503 + Retry-After);
// then the redemption is recorded and the answer sent. Tokens and join tokens are
// never logged; the log says which check failed, with the token's public id only.
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Logger } from '../log.ts';
import type { Instance } from '../model/snapshot.ts';
import type { ResolvedSpec } from '../spec/defaults.ts';
import type { Provider } from '../providers/provider.ts';
import type { ManagementKv } from '../store/management-kv.ts';
import { endpointsOf } from '../protocol/cluster-endpoints.ts';
import type { BootstrapTokenVerifier, NodeCredentials } from '../store/bootstrap-tokens.ts';
import type { DockerCa } from '../providers/ec2/docker-ca.ts';
import {
  BOOTSTRAP_PATH,
  INITIALIZED_PATH,
  type ExchangeBody,
  type InitializedBody,
  type JoinResponse,
} from '../protocol/bootstrap-exchange.ts';
import { registerEndpointsRoute } from './endpoints-route.ts';
import { routeLimiter } from './rate-limit.ts';

export interface BootstrapRouteOptions {
  readonly tokens: BootstrapTokenVerifier &
    NodeCredentials & { redeemedBy(cluster: string, token: string, instanceId: string): Promise<boolean> };
  /** The instance as the provider sees it (EC2: DescribeInstances), or undefined. */
  readonly findInstance: (cluster: string, instanceId: string) => Promise<Instance | undefined>;
  /** The management etcd records of one cluster (claim, endpoints, join tokens). */
  readonly kvFor: (cluster: string) => ManagementKv;
  /** Require the request's source address to be the instance's private address (default true). */
  readonly requireSourceAddress?: boolean;
  /**
   * When the controller reaches managers over TLS TCP: the cluster's docker CA. A
   * manager that sends a CSR gets a server certificate for its private address.
   */
  readonly dockerCa?: (cluster: string) => Promise<DockerCa>;
  readonly logger: Logger;
  readonly clock?: () => number;
  /** Requests per minute per source address (server.ts passes its setting). */
  readonly perMinute?: number;
}

const idPattern = '^[A-Za-z0-9._:-]{1,128}$';
const exchangeBody = {
  type: 'object',
  additionalProperties: false,
  required: ['cluster', 'token', 'instanceId'],
  properties: {
    cluster: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' },
    token: { type: 'string', maxLength: 128 },
    instanceId: { type: 'string', pattern: idPattern },
    dockerCsr: { type: 'string', maxLength: 4096, pattern: '^-----BEGIN CERTIFICATE REQUEST-----' },
  },
} as const;
const initializedBody = {
  type: 'object',
  additionalProperties: false,
  required: ['cluster', 'token', 'instanceId', 'address', 'swarmTokens'],
  properties: {
    cluster: exchangeBody.properties.cluster,
    token: exchangeBody.properties.token,
    instanceId: exchangeBody.properties.instanceId,
    address: { type: 'string', pattern: '^[0-9a-fA-F:.]{2,45}$' },
    swarmTokens: {
      type: 'object',
      additionalProperties: false,
      required: ['worker', 'manager'],
      properties: { worker: { type: 'string', minLength: 1, maxLength: 256 }, manager: { type: 'string', minLength: 1, maxLength: 256 } },
    },
  },
} as const;

const REFUSED = 'bootstrap token invalid, expired or already used';

const INITIALISING_RETRY_SECONDS = 2;

export const bootstrapRoute: FastifyPluginAsync<BootstrapRouteOptions> = async (app, opts) => {
  const log = opts.logger.child({ component: 'bootstrap' });
  const clock = opts.clock ?? Date.now;
  const requireSource = opts.requireSourceAddress ?? true;

  const refuse = (reply: FastifyReply, why: string, fields: Record<string, unknown>): FastifyReply => {
    log.warn({ ...fields, why }, 'Refused a bootstrap token');
    return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: REFUSED });
  };
  // withDockerTls (below) has logged why.
  const badCsr = (reply: FastifyReply, _fields: Record<string, unknown>): FastifyReply => {
    return reply.code(400).send({
      statusCode: 400,
      error: 'Bad Request',
      message: "dockerCsr is not a valid certificate request: send a PEM CSR for this node's private address",
    });
  };
  const later = (reply: FastifyReply, message: string, retryAfterSeconds = 10): FastifyReply =>
    reply.code(503).header('retry-after', String(retryAfterSeconds)).send({ statusCode: 503, error: 'Service Unavailable', message });
  const credentialFor = async (cluster: string, instanceId: string): Promise<string> => opts.tokens.nodeCredential(cluster, instanceId);
  registerEndpointsRoute(app, {
    credentials: opts.tokens,
    kvFor: opts.kvFor,
    logger: opts.logger,
    ...(opts.perMinute ? { perMinute: opts.perMinute } : {}),
  });

  const onRequest = opts.perMinute ? [routeLimiter(app, opts.perMinute)] : [];
  app.post<{ Body: ExchangeBody }>(BOOTSTRAP_PATH, { schema: { body: exchangeBody }, bodyLimit: 8192, onRequest }, async (req, reply) => {
    const { cluster, token, instanceId, dockerCsr } = req.body;
    /** Adds a manager's docker server certificate when it sent a CSR and the controller uses TLS; undefined: a bad CSR. */
    const withDockerTls = async (answer: JoinResponse, address: string): Promise<JoinResponse | undefined> => {
      if (!opts.dockerCa || !dockerCsr) return answer;
      try {
        const ca = await opts.dockerCa(cluster);
        return { ...answer, dockerTls: { ca: ca.caPem, cert: await ca.issueServerCert(dockerCsr, address, clock()) } };
      } catch (err) {
        log.warn({ cluster, instanceId, err }, 'Refused a docker certificate request');
        return undefined;
      }
    };
    const verdict = await opts.tokens.verify(cluster, token, instanceId);
    if (!verdict.ok && verdict.reason === 'used') {
      // The one repeat allowed: the first manager lost our answer before it initialised
      // (it holds the init claim and no join tokens were reported yet). Anything else
      // could not have been lost usefully and stays refused.
      const kv = opts.kvFor(cluster);
      const [claim, tokens] = await Promise.all([kv.readClaim(), kv.readTokens()]).catch(() => [undefined, undefined] as const);
      const fromClaimant = claim?.instanceId === instanceId && (!requireSource || normaliseIp(req.ip) === claim.address);
      if (fromClaimant && claim && tokens === undefined) {
        // The same answer as the first time, its docker certificate included.
        const first = {
          cluster,
          role: 'manager' as const,
          instanceId,
          initialize: true,
          etcd: { clientURLs: [] },
          nodeCredential: await credentialFor(cluster, instanceId),
        };
        const again = await withDockerTls(first, claim.address);
        if (!again) return badCsr(reply, { cluster, instanceId });
        log.info({ cluster, instanceId }, 'Answered the initialising manager again');
        return reply.code(200).send(again);
      }
    }
    if (!verdict.ok) return refuse(reply, verdict.reason, { cluster, instanceId });
    const fields = { cluster, instanceId, tokenId: verdict.id };
    const instance = await opts.findInstance(cluster, instanceId);
    if (!instance || instance.clientToken !== verdict.record.clientToken || instance.role !== verdict.record.role) {
      return refuse(reply, 'instance not of this launch', fields);
    }
    if (requireSource && (!instance.address || normaliseIp(req.ip) !== instance.address))
      return refuse(reply, 'request not from the instance address', fields);
    const kv = opts.kvFor(cluster);
    let answer: JoinResponse;
    try {
      const [endpoints, tokens] = await Promise.all([kv.readEndpoints(), kv.readTokens()]);
      if (endpoints && tokens && endpoints.swarmManagers.length > 0) {
        answer = {
          cluster,
          role: instance.role,
          instanceId,
          initialize: false,
          swarm: { joinToken: tokens.worker, managers: endpoints.swarmManagers },
          etcd: { clientURLs: endpoints.etcdClientURLs },
          nodeCredential: await credentialFor(cluster, instanceId),
        };
      } else if (instance.role === 'manager' && instance.address) {
        const claim = { instanceId, address: instance.address, claimedAt: new Date(clock()).toISOString() };
        const mine = (await kv.claimInit(claim)) || (await kv.readClaim())?.instanceId === instanceId;
        // Managers of a new cluster boot together; the founder's etcd and swarm take
        // seconds, so the others ask again soon.
        if (!mine) return later(reply, 'the first manager is still initialising the cluster; retry', INITIALISING_RETRY_SECONDS);
        answer = {
          cluster,
          role: 'manager',
          instanceId,
          initialize: true,
          etcd: { clientURLs: [] },
          nodeCredential: await credentialFor(cluster, instanceId),
        };
      } else {
        return later(reply, 'the cluster has no manager yet; retry');
      }
    } catch (err) {
      log.error({ ...fields, err }, 'Reading the join records failed');
      return later(reply, 'the management etcd did not answer; retry');
    }
    if (instance.role === 'manager' && instance.address) {
      const withTls = await withDockerTls(answer, instance.address);
      if (!withTls) return badCsr(reply, fields);
      answer = withTls;
    }
    if (!(await opts.tokens.consume(cluster, verdict.id, instanceId))) return refuse(reply, 'used concurrently', fields);
    log.info({ ...fields, initialize: answer.initialize }, 'Exchanged a bootstrap token');
    return reply.code(200).send(answer);
  });

  app.post<{ Body: InitializedBody }>(
    INITIALIZED_PATH,
    { schema: { body: initializedBody }, bodyLimit: 4096, onRequest },
    async (req, reply) => {
      const { cluster, token, instanceId, address, swarmTokens } = req.body;
      if (!(await opts.tokens.redeemedBy(cluster, token, instanceId)))
        return refuse(reply, 'init report without a redeemed token', { cluster, instanceId });
      const kv = opts.kvFor(cluster);
      const claim = await kv.readClaim();
      if (claim?.instanceId !== instanceId || claim.address !== address)
        return refuse(reply, 'init report from a node that does not hold the init claim', { cluster, instanceId });
      if (requireSource && normaliseIp(req.ip) !== address)
        return refuse(reply, 'request not from the instance address', { cluster, instanceId });
      // Both create-if-absent: a repeated report, or a race, never overwrites.
      await kv.storeTokens(swarmTokens);
      await kv.publishInitialEndpoints(endpointsOf([address], new Date(clock()).toISOString()));
      log.info({ cluster, instanceId }, 'Recorded the initialised cluster');
      return reply.code(204).send();
    },
  );
};

function normaliseIp(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/**
 * findInstance for production wiring: the cluster's spec from the store, its provider
 * (the controller's provider cache), the instance from the provider's list. The list
 * is shared: one provider call per cluster per `refreshMs` at most (EC2:
 * DescribeInstances), however many requests come, so a replayed or guessed token costs
 * no cloud call of its own. An id missing from a list older than `refreshMs` is looked
 * for in a fresh one (a node launched since). At most `maxClusters` lists are kept.
 */
export function instanceFinder(
  getSpec: (cluster: string) => Promise<ResolvedSpec | undefined>,
  providerFor: (spec: ResolvedSpec) => Provider,
  opts: { readonly refreshMs?: number; readonly maxClusters?: number; readonly clock?: () => number } = {},
): (cluster: string, instanceId: string) => Promise<Instance | undefined> {
  const refreshMs = opts.refreshMs ?? 2000;
  const maxClusters = opts.maxClusters ?? 256;
  const clock = opts.clock ?? Date.now;
  const lists = new Map<string, { at: number; value: Promise<readonly Instance[]> }>();
  const listOf = (cluster: string, spec: ResolvedSpec, fresh: boolean): Promise<readonly Instance[]> => {
    const hit = lists.get(cluster);
    if (hit && (!fresh || clock() - hit.at < refreshMs)) return hit.value;
    const value = providerFor(spec).list(cluster);
    lists.delete(cluster);
    lists.set(cluster, { at: clock(), value });
    if (lists.size > maxClusters) lists.delete(lists.keys().next().value as string);
    value.catch(() => {
      if (lists.get(cluster)?.value === value) lists.delete(cluster);
    });
    return value;
  };
  return async (cluster, instanceId) => {
    const spec = await getSpec(cluster);
    if (!spec) return undefined;
    const cached = (await listOf(cluster, spec, false)).find((i) => i.id === instanceId);
    return cached ?? (await listOf(cluster, spec, true)).find((i) => i.id === instanceId);
  };
}
