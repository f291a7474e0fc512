// GET /v1/bootstrap/endpoints?cluster=C&instanceId=I: a joined EC2 node reads its
// cluster's published endpoints (keys.endpoints: the managers' etcd client URLs and
// swarm addresses, which its etcd gateway follows) here, with the node credential its
// bootstrap answer carried. Nodes hold no management etcd credential at all: this
// credential is bound to one cluster and one instance and reads this record only.
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../log.ts';
import { encodeEndpoints } from '../protocol/cluster-endpoints.ts';
import type { ManagementKv } from '../store/management-kv.ts';
import type { NodeCredentials } from '../store/bootstrap-token-port.ts';
import { ENDPOINTS_PATH } from '../protocol/bootstrap-exchange.ts';
import { routeLimiter } from './rate-limit.ts';

export interface EndpointsRouteOptions {
  readonly credentials: NodeCredentials;
  readonly kvFor: (cluster: string) => Pick<ManagementKv, 'readEndpoints'>;
  readonly logger: Logger;
  /** Requests per minute one source may make; none: not limited. */
  readonly perMinute?: number;
}

const query = {
  type: 'object',
  additionalProperties: false,
  required: ['cluster', 'instanceId'],
  properties: {
    cluster: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' },
    instanceId: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' },
  },
} as const;

export function registerEndpointsRoute(app: FastifyInstance, opts: EndpointsRouteOptions): void {
  const log = opts.logger.child({ component: 'bootstrap' });
  // Limited first, like the other bootstrap routes: a credential guess costs a hash and a lookup.
  const onRequest = opts.perMinute ? [routeLimiter(app, opts.perMinute)] : [];
  app.get<{ Querystring: { cluster: string; instanceId: string } }>(
    ENDPOINTS_PATH,
    { schema: { querystring: query }, onRequest },
    async (req, reply) => {
      const { cluster, instanceId } = req.query;
      const credential = /^Bearer (\S{1,128})$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      if (!(await opts.credentials.verifyNodeCredential(cluster, instanceId, credential))) {
        log.warn({ cluster, instanceId }, 'Refused an endpoints request: bad node credential');
        return reply
          .code(401)
          .send({ statusCode: 401, error: 'Unauthorized', message: 'node credential invalid for this cluster and instance' });
      }
      try {
        const endpoints = await opts.kvFor(cluster).readEndpoints();
        if (!endpoints)
          return reply
            .code(404)
            .send({ statusCode: 404, error: 'Not Found', message: `cluster ${cluster} has published no endpoints yet` });
        return reply.code(200).header('content-type', 'application/json').send(encodeEndpoints(endpoints));
      } catch (err) {
        log.error({ cluster, err }, 'Reading the cluster endpoints failed');
        return reply
          .code(503)
          .header('retry-after', '5')
          .send({ statusCode: 503, error: 'Service Unavailable', message: 'the management etcd did not answer; retry' });
      }
    },
  );
}
