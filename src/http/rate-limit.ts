// Rate limits per route and source address, with @fastify/rate-limit (registered once by
// buildServer with global: false). A route puts routeLimiter() first in its onRequest
// hooks, so the limit is counted before anything else the request costs (a token check,
// an etcd read). Over the limit: 429 with Retry-After.
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import type {} from '@fastify/rate-limit';

/** The onRequest hook that limits one route to `perMinute` requests per source address. */
export function routeLimiter(app: FastifyInstance, perMinute: number): onRequestHookHandler {
  return app.rateLimit({ max: perMinute, timeWindow: 60_000 });
}
