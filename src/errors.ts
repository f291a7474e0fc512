// The error catalogue. Every error swarmkeeper raises on purpose is a SwarmkeeperError
// with a stable `code`, so callers branch on codes (not on message text) and the CLI
// maps codes to exit statuses. Adapters sort SDK errors into these at their boundary
// (classifyEc2Error, classifyEtcdError, classifyDockerError); the core never sees an SDK
// error.
//
// Messages are for people: they say what went wrong and, where there is something to
// do, what to do. They never contain secrets: pass identifiers, never tokens or keys.

export const ERROR_CODES = {
  SpecInvalid: 'The SwarmCluster document breaks a schema or semantic rule; the message names the field path.',
  NotFound: 'The named object (cluster, instance, node, member) does not exist.',
  Conflict: 'Someone else changed the object first (revision mismatch) or the operation races another.',
  Capacity: 'The provider has no capacity or quota for the request; retry later or elsewhere.',
  Throttled: 'The peer asked us to slow down; the call was retried and still throttled.',
  Unavailable: 'A peer (etcd, dockerd, the cloud API) could not be reached or did not answer in time.',
  Unauthorized: 'Credentials are missing or were refused.',
  Usage: 'The command line is wrong: an unknown flag, a missing argument.',
  Precondition: 'A step re-checked its precondition against a fresh observation and it no longer holds.',
  QuorumAtRisk: 'The step would cost etcd or swarm its quorum and was refused.',
  Corrupt:
    'Stored data (a backup, a docker CA record) failed its checksum, is truncated or does not parse: it is refused and nothing was changed.',
  Timeout: 'A wait (swarmkeeper wait, apply --wait, delete --wait) ended before its condition was met.',
  NotProgressing: 'A wait (apply --wait) ended early: the cluster cannot reach the goal by itself (Frozen or Degraded for too long).',
  Internal: 'A bug: an invariant of swarmkeeper itself did not hold.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class SwarmkeeperError extends Error {
  readonly code: ErrorCode;
  /** Extra machine-readable facts (field path, instance id). Never secrets. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = `${code}Error`;
    this.code = code;
    this.details = options.details ?? {};
  }
}

export function isSwarmkeeperError(err: unknown, code?: ErrorCode): err is SwarmkeeperError {
  return err instanceof SwarmkeeperError && (code === undefined || err.code === code);
}

/**
 * Wraps `err` with a short gerund context ("describing instances: ..."), keeping its
 * code when it already has one, else classifying it as `fallback`.
 */
export function wrapError(context: string, err: unknown, fallback: ErrorCode = 'Unavailable'): SwarmkeeperError {
  const code = err instanceof SwarmkeeperError ? err.code : fallback;
  const details = err instanceof SwarmkeeperError ? { ...err.details } : {};
  return new SwarmkeeperError(code, `${context}: ${messageOf(err)}`, { cause: err, details });
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
