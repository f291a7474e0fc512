// The one root logger. `main` creates it; everything else receives a child that binds
// `cluster`, `cycle` or `step`. Secrets are removed by path before a line is written,
// whichever module logged them; test/unit in log.test.ts proves it for each path.
import pino, { type Logger, type DestinationStream } from 'pino';
import { scrubSecretText } from './secret-text.ts';

export type { Logger } from 'pino';

/** Paths whose values never reach a log line. Keep in step with log.test.ts. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'token',
  '*.token',
  '*.*.token',
  'tokens',
  '*.tokens',
  'joinToken',
  '*.joinToken',
  'joinTokens',
  '*.joinTokens',
  'bootstrapToken',
  '*.bootstrapToken',
  '*.*.bootstrapToken',
  'webhookToken',
  '*.webhookToken',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'secretAccessKey',
  '*.secretAccessKey',
  '*.*.secretAccessKey',
  'accessKeyId',
  '*.accessKeyId',
  '*.*.accessKeyId',
  'sessionToken',
  '*.sessionToken',
  'credentials',
  '*.credentials',
  'key',
  '*.key',
  'cert',
  '*.cert',
  'userData',
  '*.userData',
  // Gaps found by log.test.ts: commander's option object, the notification webhook
  // URL (Slack puts its secret in the path), header spellings, generic `secret` fields.
  'etcdPassword',
  '*.etcdPassword',
  'webhookUrl',
  '*.webhookUrl',
  'headers.Authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  '*.*.webhookToken',
  'secret',
  '*.secret',
];

export interface LoggerOptions {
  readonly level?: string;
  /** Pretty, coloured output; defaults to whether stderr is a terminal. */
  readonly pretty?: boolean;
  readonly destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const base = {
    level: opts.level ?? process.env.SWARMKEEPER_LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { err: serializeError },
    base: { name: 'swarmkeeper' },
  };
  if (opts.destination) return pino(base, opts.destination);
  // Pretty for people at a terminal unless told otherwise; JSON for collectors.
  if (opts.pretty ?? Boolean(process.stderr.isTTY)) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, destination: 2 } } });
  }
  return pino(base, pino.destination(2));
}

/**
 * The `err` field: pino's error serializer (type, message, stack, the cause chain as
 * nested errors), then only plain data kept from what an error carries besides (an SDK
 * error may hold its request, a socket, a response body echoing what was sent), fields
 * named like a redact path redacted at any depth, and every string scrubbed of secrets: messages quote what peers said, and the redact
 * paths cannot reach inside a string. Log errors as `{ err }`, never as their message.
 */
export function serializeError(err: unknown): unknown {
  return plainData(pino.stdSerializers.errWithCause(err as Error), 0);
}

const MAX_DEPTH = 6;
/** Field names the redact paths name, redacted at any depth inside an error. */
const SECRET_KEYS = new Set(REDACT_PATHS.map((p) => p.split('.').at(-1)?.toLowerCase()));

function plainData(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return scrubSecretText(value);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value !== 'object' || depth >= MAX_DEPTH) return undefined;
  if (Array.isArray(value)) return value.slice(0, 20).map((v) => plainData(v, depth + 1));
  const proto: unknown = Object.getPrototypeOf(value);
  const isSerializedError = 'message' in value && 'stack' in value && 'type' in value;
  if (!isSerializedError && proto !== Object.prototype && proto !== null) return undefined;
  const out: Record<string, unknown> = {};
  for (const key in value) {
    if (SECRET_KEYS.has(key.toLowerCase())) {
      out[key] = '[redacted]';
      continue;
    }
    const v = plainData((value as Record<string, unknown>)[key], depth + 1);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** A logger that writes nothing, for library use and tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
