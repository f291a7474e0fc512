// The HTTP surface: /healthz, /readyz, /metrics, /v1/alerts, plus plugins others mount
// (the bootstrap-token exchange, src/http/bootstrap-route.ts). buildServer() only
// builds: tests drive it with inject() and no port; listenServer() binds, to
// 127.0.0.1 unless told otherwise (a container or pod passes --listen 0.0.0.0:8080).
import { Server as TlsServer } from 'node:tls';
import rateLimit from '@fastify/rate-limit';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyPluginCallback,
} from 'fastify';
import type { Logger } from '../log.ts';
import type { NodeDirectory } from '../heal/alert-intake.ts';
import type { MarkStore } from '../store/mark-port.ts';
import { alertsRoute } from './alerts-route.ts';
import type { Metrics } from './metrics.ts';
import type { ServerTls } from './tls.ts';

export interface ReadinessChecks {
  /** Whether the management etcd answers. */
  etcd(): Promise<boolean>;
  /** Whether this replica leads; only the leader must also reach the swarm. */
  isLeader(): boolean;
  /** Whether the managed swarm answers (asked only on the leader). */
  swarm?(): Promise<boolean>;
}

export interface AlertsDeps {
  readonly webhookToken: string;
  readonly marks: MarkStore;
  readonly directory: NodeDirectory;
  readonly markTtlSeconds?: number;
  readonly bodyLimitBytes?: number;
  readonly clock?: () => number;
}

export interface ExtraPlugin {
  // Plugins come with their own option types; the server only passes them through.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly plugin: FastifyPluginAsync<any> | FastifyPluginCallback<any>;
  readonly options?: Record<string, unknown>;
}

export interface ServerDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly readiness: ReadinessChecks;
  /** Without it, /v1/alerts is not served (404). */
  readonly alerts?: AlertsDeps;
  readonly plugins?: readonly ExtraPlugin[];
  /** How long one readiness check may take before it counts as failed; default 2000 ms. */
  readonly readinessTimeoutMs?: number;
  /** Serve HTTPS with this certificate and key (src/http/tls.ts reads and checks them). */
  readonly tls?: ServerTls;
  /**
   * Proxies (addresses or CIDR blocks) whose X-Forwarded-For names the client: the
   * source address the bootstrap route checks. Without it the header is ignored.
   */
  readonly trustedProxies?: readonly string[];
  /** Requests per minute one source may make to each route; defaults in DEFAULT_RATE_LIMITS. */
  readonly rateLimits?: Partial<RateLimits>;
}

export interface RateLimits {
  /** POST /v1/alerts, per source address. Alertmanager sends a few requests per group interval. */
  readonly alertsPerMinute: number;
  /** POST /v1/bootstrap and /v1/bootstrap/initialized, per source address. A booting node asks a few times. */
  readonly bootstrapPerMinute: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = { alertsPerMinute: 600, bootstrapPerMinute: 60 };

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const log = deps.logger.child({ component: 'http' });
  const app = Fastify({
    // Fastify's child of this logger keeps our err serializer over its own (tested).
    loggerInstance: log as FastifyBaseLogger,
    // Fastify's own per-request lines ("incoming request") are off; onResponse below
    // logs one line per answered request in our style, at debug.
    logController: new LogController({ disableRequestLogging: true }),
    // Strict validation: "123" is not silently coerced into 123 or the reverse.
    // Unknown fields are refused (400), not silently stripped: a request that says more
    // than the route reads (an extra "role") is a client mistake or a probe.
    ajv: { customOptions: { coerceTypes: false, allErrors: false, removeAdditional: false } },
    return503OnClosing: true,
    // A client that trickles its body cannot hold a connection (and a handler) forever.
    requestTimeout: 30_000,
    trustProxy: deps.trustedProxies ? [...deps.trustedProxies] : false,
    // Nor can one that never finishes its TLS handshake.
    ...(deps.tls ? { https: { cert: deps.tls.cert, key: deps.tls.key, handshakeTimeout: 10_000 } } : {}),
  });

  // Per route and source, counted in memory with a bounded LRU (the plugin's toad-cache),
  // so a flood of distinct sources cannot grow it without end. Routes opt in through
  // routeLimiter(); /healthz, /readyz and /metrics are never limited (probes, scrapes).
  await app.register(rateLimit, { global: false, cache: 10_000 });

  app.addHook('onResponse', async (req, reply) => {
    const path = pathOf(req.url);
    if (path === '/healthz' || path === '/metrics') return;
    // The path only: a query string may carry a token someone put there by mistake.
    log.debug({ method: req.method, path, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'Answered HTTP request');
  });
  app.setErrorHandler(async (err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    const statusCode = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (statusCode >= 500) {
      log.error({ err }, 'HTTP handler failed');
      deps.metrics.recordError('http');
      return reply.code(statusCode).send({ statusCode, error: 'Internal Server Error', message: 'Internal error; see the controller log' });
    }
    return reply.code(statusCode).send({ statusCode, code: err.code, error: httpError(statusCode), message: err.message });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const timeout = deps.readinessTimeoutMs ?? 2000;
    const etcd = await check(deps.readiness.etcd, timeout);
    const leader = deps.readiness.isLeader();
    const swarmCheck = deps.readiness.swarm;
    const swarm = leader && swarmCheck ? await check(swarmCheck, timeout) : 'skipped';
    const ready = etcd === 'ok' && swarm !== 'failed';
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', leader, checks: { etcd, swarm } });
  });

  app.get('/metrics', async (_req, reply) => {
    const body = await deps.metrics.render();
    return reply.header('content-type', deps.metrics.contentType).send(body);
  });

  const limits = { ...DEFAULT_RATE_LIMITS, ...deps.rateLimits };
  if (deps.alerts) {
    await app.register(alertsRoute, { ...deps.alerts, metrics: deps.metrics, logger: deps.logger, perMinute: limits.alertsPerMinute });
  }
  for (const p of deps.plugins ?? []) await app.register(p.plugin, { perMinute: limits.bootstrapPerMinute, ...p.options });
  await app.ready();
  return app;
}

export interface ListenOptions {
  /** Default 127.0.0.1: nothing is exposed unless asked for. */
  readonly host?: string;
  /** Default 0 (any free port); the bound address is returned. */
  readonly port?: number;
}

/** Binds the server and returns its base URL (http://host:port, or https:// when it serves TLS). */
export async function listenServer(app: FastifyInstance, opts: ListenOptions = {}): Promise<string> {
  const host = opts.host ?? '127.0.0.1';
  await app.listen({ host, port: opts.port ?? 0 });
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error(`server bound to an unexpected address: ${String(addr)}`);
  const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const scheme = app.server instanceof TlsServer ? 'https' : 'http';
  return `${scheme}://${h}:${addr.port}`;
}

/** Parses `host:port`, `[v6]:port` or `:port` (host defaults to 127.0.0.1). */
export function parseListenAddress(value: string): Required<ListenOptions> {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value.trim());
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port > 65535)
    throw new Error(`listen address "${value}" is not host:port (for example 127.0.0.1:8080)`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

async function check(fn: () => Promise<boolean>, timeoutMs: number): Promise<'ok' | 'failed'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    return (await Promise.race([fn(), timeout])) ? 'ok' : 'failed';
  } catch {
    return 'failed';
  } finally {
    if (timer) clearTimeout(timer);
  }
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function httpError(code: number): string {
  const names: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    413: 'Payload Too Large',
    415: 'Unsupported Media Type',
    422: 'Unprocessable Entity',
    429: 'Too Many Requests',
  };
  return names[code] ?? 'Error';
}
