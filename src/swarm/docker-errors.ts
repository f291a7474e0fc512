// Sorting dockerode / Docker Engine API errors into SwarmkeeperError codes, at the adapter
// boundary (style.md: the core never sees an SDK error). dockerode (docker-modem) raises
// `Error('(HTTP code N) reason - message')` with `statusCode` and `json`, or a plain
// Node socket error (ECONNREFUSED, ENOENT for a missing unix socket, timeouts).
//
// Secrets: dockerd echoes the join token in some join errors, and docker-modem keeps the
// response body in `json`. So the cause we attach is a fresh Error with the scrubbed
// message and the status code only, never the original object.
import { SwarmkeeperError, type ErrorCode } from '../errors.ts';
import { scrubSecretText } from '../secret-text.ts';

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ESOCKETTIMEDOUT',
  'ECONNABORTED',
]);

const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

interface DockerLikeError {
  readonly message?: unknown;
  readonly statusCode?: unknown;
  readonly code?: unknown;
  readonly json?: unknown;
}

/** Removes secrets of known shapes (join tokens first) and any extra secrets given from `text`. */
export function scrubSecrets(text: string, secrets: readonly string[] = []): string {
  let out = scrubSecretText(text);
  for (const s of secrets) if (s.length >= 8) out = out.split(s).join('[redacted]');
  return out;
}

/** The code a dockerode error deserves. Order matters: specific messages before status codes. */
export function classifyDockerError(err: unknown): ErrorCode {
  const e = (typeof err === 'object' && err !== null ? err : {}) as DockerLikeError;
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const text = `${String(e.message ?? err)} ${serverMessage(e)}`.toLowerCase();
  if (text.includes('update out of sequence')) return 'Conflict';
  if (text.includes('already part of a swarm')) return 'Conflict';
  // Removing a manager that is not demoted yet, a worker not yet seen down, leaving as a
  // manager: the node's state change (demotion, stop) is still in flight, so these race
  // it like a stale version does: Conflict, which callers retry (the sim agrees).
  if (text.includes('participating as a manager') || text.includes('must be demoted') || text.includes('is not down and can'))
    return 'Conflict';
  if (text.includes('failedprecondition')) return 'Precondition';
  if (
    text.includes('invalid join token') ||
    text.includes('valid join token is necessary') ||
    text.includes('unauthorized') ||
    status === 401 ||
    status === 403
  )
    return 'Unauthorized';
  if (status === 404) return 'NotFound';
  if (status === 409) return 'Conflict';
  if (status === 503 || text.includes('not a swarm manager') || status === 406) return 'Unavailable';
  if (status === 400) return 'Precondition';
  // TLS: our client certificate refused (an SSL alert from the server), or the server's
  // certificate not trusted by our CA: credentials on one side or the other.
  if (typeof e.code === 'string' && (/^ERR_SSL_.*(CERTIFICATE|UNKNOWN_CA)/.test(e.code) || TLS_TRUST_CODES.has(e.code)))
    return 'Unauthorized';
  if (typeof e.code === 'string' && CONNECTION_CODES.has(e.code)) return 'Unavailable';
  if (text.includes('timeout') || text.includes('socket hang up')) return 'Unavailable';
  if (status !== undefined && status >= 500) return 'Unavailable';
  return 'Internal';
}

/**
 * Wraps a dockerode error as a SwarmkeeperError: `<context>: <scrubbed message>`, with a
 * scrubbed cause. `secrets` are extra strings to cut out (the token a join was given).
 */
export function toSwarmError(context: string, err: unknown, secrets: readonly string[] = []): SwarmkeeperError {
  if (err instanceof SwarmkeeperError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as DockerLikeError;
  const raw = serverMessage(e) || String(e.message ?? err);
  const message = scrubSecrets(raw.replace(/\s+$/, ''), secrets);
  const cause = new Error(message);
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const details: Record<string, unknown> = {};
  if (status !== undefined) details.statusCode = status;
  if (typeof e.code === 'string') details.errno = e.code;
  return new SwarmkeeperError(classifyDockerError(err), `${context}: ${message}`, { cause, details });
}

/** The daemon's own message (`{"message": ...}` body) when there is one. */
function serverMessage(e: DockerLikeError): string {
  const json = e.json as { message?: unknown } | null | undefined;
  return json && typeof json === 'object' && typeof json.message === 'string' ? json.message : '';
}
