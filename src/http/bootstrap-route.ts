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
import type { BootstrapTokenVerifier, NodeCredentials } from '../store/bootstrap-token-port.ts';
import type { DockerCa } from '../providers/ec2/docker-ca.ts';
import { BOOTSTRAP_PATH, INITIALIZED_PATH, type ExchangeBody, type InitializedBody } from '../protocol/bootstrap-exchange.ts';
import {
  CA_UNAVAILABLE,
  CSR_REFUSED,
  founderAnswer,
  planJoinAnswer,
  withDockerTls,
  type AnswerSources,
  type PlannedAnswer,
} from './bootstrap-answer.ts';
import { registerEndpointsRoute } from './endpoints-route.ts';
import { routeLimiter } from './rate-limit.ts';

export interface BootstrapRouteOptions {
  readonly tokens: BootstrapTokenVerifier & NodeCredentials;
  /** The instance as the provider sees it (EC2: DescribeInstances), or undefined. */
  readonly findInstance: (cluster: string, instanceId: string) => Promise<Instance | undefined>;
  /** The management etcd records of one cluster (claim, endpoints, join tokens). */
  readonly kvFor: (cluster: string) => ManagementKv;
  /** Require the request's source address to be the instance's private address (default true). */
  readonly requireSourceAddress?: boolean;
  /**
   * The cluster's docker CA, undefined when the cluster does not use docker TLS
   * (src/controller/cluster-docker-tls.ts). A manager that sends a CSR gets a server
   * certificate for its private address.
   */
  readonly dockerCa?: (cluster: string) => Promise<DockerCa | undefined>;
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

/** What every handler of the plugin shares. */
interface RouteContext extends AnswerSources {
  readonly opts: BootstrapRouteOptions;
  readonly requireSource: boolean;
}

export const bootstrapRoute: FastifyPluginAsync<BootstrapRouteOptions> = async (app, opts) => {
  const ctx: RouteContext = {
    opts,
    credentials: opts.tokens,
    kvFor: opts.kvFor,
    ...(opts.dockerCa ? { dockerCa: opts.dockerCa } : {}),
    clock: opts.clock ?? Date.now,
    log: opts.logger.child({ component: 'bootstrap' }),
    requireSource: opts.requireSourceAddress ?? true,
  };
  registerEndpointsRoute(app, {
    credentials: opts.tokens,
    kvFor: opts.kvFor,
    logger: opts.logger,
    ...(opts.perMinute ? { perMinute: opts.perMinute } : {}),
  });
  const onRequest = opts.perMinute ? [routeLimiter(app, opts.perMinute)] : [];
  app.post<{ Body: ExchangeBody }>(BOOTSTRAP_PATH, { schema: { body: exchangeBody }, bodyLimit: 8192, onRequest }, (req, reply) =>
    exchangeToken(ctx, req.body, req.ip, reply),
  );
  app.post<{ Body: InitializedBody }>(INITIALIZED_PATH, { schema: { body: initializedBody }, bodyLimit: 4096, onRequest }, (req, reply) =>
    recordInitialized(ctx, req.body, req.ip, reply),
  );
};

/** POST /v1/bootstrap, checks in the order the file's header gives. */
async function exchangeToken(ctx: RouteContext, body: ExchangeBody, sourceIp: string, reply: FastifyReply): Promise<FastifyReply> {
  const { cluster, token, instanceId } = body;
  const verdict = await ctx.opts.tokens.verify(cluster, token, instanceId);
  if (!verdict.ok && verdict.reason === 'used') {
    const repeated = await answerFounderAgain(ctx, body, sourceIp, reply);
    if (repeated) return repeated;
  }
  if (!verdict.ok) return refuse(ctx.log, reply, verdict.reason, { cluster, instanceId });
  const fields = { cluster, instanceId, tokenId: verdict.id };
  const instance = await ctx.opts.findInstance(cluster, instanceId);
  if (!instance || instance.clientToken !== verdict.record.clientToken || instance.role !== verdict.record.role) {
    return refuse(ctx.log, reply, 'instance not of this launch', fields);
  }
  if (ctx.requireSource && (!instance.address || normaliseIp(sourceIp) !== instance.address))
    return refuse(ctx.log, reply, 'request not from the instance address', fields);
  let planned: PlannedAnswer;
  try {
    planned = await planJoinAnswer(ctx, body, instance);
  } catch (err) {
    ctx.log.error({ ...fields, err }, 'Reading the join records failed');
    return later(reply, 'the management etcd did not answer; retry');
  }
  if ('retry' in planned) return later(reply, planned.retry, planned.afterSeconds);
  let answer = planned.answer;
  if (instance.role === 'manager' && instance.address) {
    const withTls = await withDockerTls(ctx, body, answer, instance.address);
    if (withTls === CSR_REFUSED) return badCsr(reply);
    if (withTls === CA_UNAVAILABLE) return later(reply, 'the docker CA could not be read; retry');
    answer = withTls;
  }
  if (!(await ctx.opts.tokens.consume(cluster, verdict.id, instanceId))) return refuse(ctx.log, reply, 'used concurrently', fields);
  ctx.log.info({ ...fields, initialize: answer.initialize }, 'Exchanged a bootstrap token');
  return reply.code(200).send(answer);
}

/**
 * The one repeat allowed for a used token: the first manager lost our answer before it
 * initialised (it holds the init claim and no join tokens were reported yet); it gets
 * the same answer as the first time, its docker certificate included. Undefined for
 * anything else, which could not have been lost usefully and stays refused.
 */
async function answerFounderAgain(
  ctx: RouteContext,
  body: ExchangeBody,
  sourceIp: string,
  reply: FastifyReply,
): Promise<FastifyReply | undefined> {
  const { cluster, instanceId } = body;
  const kv = ctx.kvFor(cluster);
  const [claim, tokens] = await Promise.all([kv.readClaim(), kv.readTokens()]).catch(() => [undefined, undefined] as const);
  const fromClaimant = claim?.instanceId === instanceId && (!ctx.requireSource || normaliseIp(sourceIp) === claim.address);
  if (!fromClaimant || !claim || tokens !== undefined) return undefined;
  const again = await withDockerTls(ctx, body, await founderAnswer(ctx, body), claim.address);
  if (again === CSR_REFUSED) return badCsr(reply);
  if (again === CA_UNAVAILABLE) return later(reply, 'the docker CA could not be read; retry');
  ctx.log.info({ cluster, instanceId }, 'Answered the initialising manager again');
  return reply.code(200).send(again);
}

/** POST /v1/bootstrap/initialized: the first manager reports the join tokens of its new swarm. */
async function recordInitialized(ctx: RouteContext, body: InitializedBody, sourceIp: string, reply: FastifyReply): Promise<FastifyReply> {
  const { cluster, token, instanceId, address, swarmTokens } = body;
  if (!(await ctx.opts.tokens.redeemedBy(cluster, token, instanceId)))
    return refuse(ctx.log, reply, 'init report without a redeemed token', { cluster, instanceId });
  const kv = ctx.kvFor(cluster);
  const claim = await kv.readClaim();
  if (claim?.instanceId !== instanceId || claim.address !== address)
    return refuse(ctx.log, reply, 'init report from a node that does not hold the init claim', { cluster, instanceId });
  if (ctx.requireSource && normaliseIp(sourceIp) !== address)
    return refuse(ctx.log, reply, 'request not from the instance address', { cluster, instanceId });
  // Both create-if-absent: a repeated report, or a race, never overwrites.
  await kv.storeTokens(swarmTokens);
  await kv.publishInitialEndpoints(endpointsOf([address], new Date(ctx.clock()).toISOString()));
  ctx.log.info({ cluster, instanceId }, 'Recorded the initialised cluster');
  return reply.code(204).send();
}

/** 401 with one message for every kind of bad token; the log says which check failed. */
function refuse(log: Logger, reply: FastifyReply, why: string, fields: Record<string, unknown>): FastifyReply {
  log.warn({ ...fields, why }, 'Refused a bootstrap token');
  return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: REFUSED });
}

/** 400 for a CSR the docker CA refused (withDockerTls has logged why). */
function badCsr(reply: FastifyReply): FastifyReply {
  return reply.code(400).send({
    statusCode: 400,
    error: 'Bad Request',
    message: "dockerCsr is not a valid certificate request: send a PEM CSR for this node's private address",
  });
}

function later(reply: FastifyReply, message: string, retryAfterSeconds = 10): FastifyReply {
  return reply.code(503).header('retry-after', String(retryAfterSeconds)).send({ statusCode: 503, error: 'Service Unavailable', message });
}

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
