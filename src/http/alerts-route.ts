// POST /v1/alerts: the Alertmanager webhook. Order of checks, each before any work the
// next one costs: bearer token (onRequest, before the body is read), content type and
// body size (fastify's parser: 415, 413), JSON syntax (400), schema (400, naming the
// field), then the batch is judged as a whole (404 unknown cluster or node, 422 alert
// without cluster or node labels) and only then written. A rejected request writes
// nothing. Alertmanager does not retry 4xx answers, and retries 5xx (etcd unreachable),
// which is safe: marking and clearing are idempotent.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../log.ts';
import { clustersOfAlerts, judgeAlerts, type ClusterNodes, type MarkChange, type NodeDirectory } from '../heal/alert-intake.ts';
import type { MarkStore } from '../store/mark-port.ts';
import { AlertmanagerPayloadSchema, type AlertmanagerPayload } from './alert-schema.ts';
import { bearerTokenMatches } from './auth.ts';
import type { Metrics } from './metrics.ts';
import { routeLimiter } from './rate-limit.ts';

export interface AlertsRouteOptions {
  /** The shared secret Alertmanager sends as `Authorization: Bearer <token>`. */
  readonly webhookToken: string;
  readonly marks: MarkStore;
  readonly directory: NodeDirectory;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** How long an alert mark lives without a repeat notification; default 900 s. */
  readonly markTtlSeconds?: number;
  /** Default 256 KiB: a large Alertmanager group of 1000 alerts fits in well under that. */
  readonly bodyLimitBytes?: number;
  readonly clock?: () => number;
  /** Requests per minute per source address (server.ts passes its setting). */
  readonly perMinute?: number;
}

export const MIN_WEBHOOK_TOKEN_LENGTH = 16;
/** Distinct clusters one request may name: each costs a lookup before anything is judged. */
export const MAX_CLUSTERS_PER_REQUEST = 8;

export const alertsRoute: FastifyPluginAsync<AlertsRouteOptions> = async (app, opts) => {
  if (opts.webhookToken.length < MIN_WEBHOOK_TOKEN_LENGTH) {
    throw new Error(`the alert webhook token must be at least ${MIN_WEBHOOK_TOKEN_LENGTH} characters long`);
  }
  const log = opts.logger.child({ component: 'alerts' });
  // Alertmanager sends application/json; anything else is refused with 415 instead of
  // being parsed as text and failing later with a less helpful message.
  app.removeContentTypeParser('text/plain');
  // The rate limit first: wrong-token floods are counted too.
  const onRequest = [...(opts.perMinute ? [routeLimiter(app, opts.perMinute)] : []), bearerCheck(opts.webhookToken, log)];
  app.post<{ Body: AlertmanagerPayload }>(
    '/v1/alerts',
    { schema: { body: AlertmanagerPayloadSchema }, bodyLimit: opts.bodyLimitBytes ?? 256 * 1024, onRequest },
    (req, reply) => receiveAlerts(req.body, reply, opts, log),
  );
};

/** The onRequest hook that answers 401 unless the request carries the webhook token. */
function bearerCheck(webhookToken: string, log: Logger) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const header = req.headers.authorization;
    if (header === undefined) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="swarmkeeper"')
        .send({ statusCode: 401, error: 'Unauthorized', message: 'Authorization: Bearer <token> is required' });
    }
    if (!bearerTokenMatches(header, webhookToken)) {
      log.warn({ remoteAddress: req.ip }, 'Refusing an alert request with a wrong bearer token');
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="swarmkeeper", error="invalid_token"')
        .send({ statusCode: 401, error: 'Unauthorized', message: 'The bearer token is not valid' });
    }
    return undefined;
  };
}

/** Judges the whole batch against the clusters' nodes, then writes its mark changes. */
async function receiveAlerts(
  payload: AlertmanagerPayload,
  reply: FastifyReply,
  opts: AlertsRouteOptions,
  log: Logger,
): Promise<FastifyReply> {
  const rejectAll = () => {
    for (const a of payload.alerts) opts.metrics.recordAlert(a.status, 'rejected');
  };
  const names = clustersOfAlerts(payload.alerts);
  if (names.length > MAX_CLUSTERS_PER_REQUEST) {
    rejectAll();
    const message = `the alerts name ${names.length} clusters; at most ${MAX_CLUSTERS_PER_REQUEST} per request (group alerts by cluster in Alertmanager)`;
    return reply.code(422).send({ statusCode: 422, error: 'Unprocessable Entity', message });
  }
  let clusters: Map<string, ClusterNodes | undefined>;
  try {
    const found = await Promise.all(names.map((name) => opts.directory.lookup(name)));
    clusters = new Map(names.map((name, i) => [name, found[i]]));
  } catch (err) {
    opts.metrics.recordError('alerts');
    log.error({ err }, 'Looking up the nodes an alert refers to failed');
    return reply
      .code(503)
      .send({ statusCode: 503, error: 'Service Unavailable', message: 'Cannot look up cluster nodes right now; retry' });
  }
  const judged = judgeAlerts(payload.alerts, clusters, { now: (opts.clock ?? Date.now)(), markTtlSeconds: opts.markTtlSeconds ?? 900 });
  if (!judged.ok) {
    rejectAll();
    log.warn({ status: judged.status, problem: judged.message }, 'Rejecting an alert batch');
    const error = judged.status === 404 ? 'Not Found' : 'Unprocessable Entity';
    return reply.code(judged.status).send({ statusCode: judged.status, error, message: judged.message });
  }
  let written: { marked: string[]; cleared: string[] };
  try {
    written = await writeMarkChanges(judged.changes, opts, log);
  } catch (err) {
    opts.metrics.recordError('alerts');
    log.error({ err }, 'Writing alert marks failed');
    return reply.code(503).send({ statusCode: 503, error: 'Service Unavailable', message: 'Cannot write health marks right now; retry' });
  }
  for (let i = 0; i < judged.ignored; i++) opts.metrics.recordAlert('resolved', 'ignored');
  return reply.code(200).send({ ...written, ignored: judged.ignored });
}

/** Writes the changes in order; the instance ids marked and cleared. Throws at the first failed write. */
async function writeMarkChanges(
  changes: readonly MarkChange[],
  opts: AlertsRouteOptions,
  log: Logger,
): Promise<{ marked: string[]; cleared: string[] }> {
  const marked: string[] = [];
  const cleared: string[] = [];
  for (const c of changes) {
    if (c.action === 'mark' && c.mark) {
      await opts.marks.putMark(c.cluster, c.mark);
      marked.push(c.instanceId);
      opts.metrics.recordAlert('firing', 'marked');
      log.info({ cluster: c.cluster, instanceId: c.instanceId, reason: c.mark.reason }, 'Marking node unhealthy from an alert');
    } else {
      await opts.marks.clearMark(c.cluster, c.instanceId, 'alert');
      cleared.push(c.instanceId);
      opts.metrics.recordAlert('resolved', 'cleared');
      log.info({ cluster: c.cluster, instanceId: c.instanceId }, 'Clearing alert mark of a resolved alert');
    }
  }
  return { marked, cleared };
}
