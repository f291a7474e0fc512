// Sorting etcd3 (gRPC) errors into SwarmkeeperError codes, at the adapter boundary.
// etcd3 turns gRPC statuses into classes (GRPCUnavailableError, EtcdPermissionDeniedError
// ...) but the facts we branch on are in etcd's own messages ("etcdserver: unhealthy
// cluster"), so messages are matched first, then classes.
import { SwarmkeeperError, type ErrorCode } from '../errors.ts';

const MESSAGE_CODES: readonly (readonly [RegExp, ErrorCode])[] = [
  // The ~5 s window after members connect (measured with etcd 3.4): retry with backoff.
  [/unhealthy cluster/i, 'Unavailable'],
  [/in sync with leader|learner member which is in sync/i, 'Precondition'],
  [/not enough started members/i, 'QuorumAtRisk'],
  [/too many learner/i, 'Precondition'],
  [/can only promote a learner member/i, 'Precondition'],
  [/bad leader transferee/i, 'Precondition'],
  [/member not found|member id not found/i, 'NotFound'],
  [/peer ?urls? already exists|peerurl exists/i, 'Conflict'],
  [/\bnot leader\b|leader changed/i, 'Conflict'],
  [/permission denied|authentication failed|invalid auth token|user name is empty|unauthenticated/i, 'Unauthorized'],
  [/leader transfer timeout|deadline exceeded|timed out|no connection|connect failed|econnrefused|unavailable|no leader/i, 'Unavailable'],
];

const CLASS_CODES: Readonly<Record<string, ErrorCode>> = {
  GRPCUnavailableError: 'Unavailable',
  GRPCDeadlineExceededError: 'Unavailable',
  GRPCCancelledError: 'Unavailable',
  ClientClosedError: 'Unavailable',
  GRPCNotFoundError: 'NotFound',
  GRPCFailedPreconditionError: 'Precondition',
  GRPCAlreadyExistsError: 'Conflict',
  GRPCUnauthenticatedError: 'Unauthorized',
  EtcdAuthenticationFailedError: 'Unauthorized',
  EtcdInvalidAuthTokenError: 'Unauthorized',
  EtcdPermissionDeniedError: 'Unauthorized',
  GRPCInvalidArgumentError: 'Usage',
};

export function classifyEtcdError(err: unknown): ErrorCode {
  if (err instanceof SwarmkeeperError) return err.code;
  const message = err instanceof Error ? err.message : String(err);
  for (const [pattern, code] of MESSAGE_CODES) if (pattern.test(message)) return code;
  const name = err instanceof Error ? err.constructor.name : '';
  return CLASS_CODES[name] ?? 'Unavailable';
}

/** `<context>: <etcd's message>` with the sorted code; the cause is kept (etcd errors carry no secrets). */
export function toEtcdError(context: string, err: unknown, details: Record<string, unknown> = {}): SwarmkeeperError {
  if (err instanceof SwarmkeeperError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SwarmkeeperError(classifyEtcdError(err), `${context}: ${message}`, { cause: err, details });
}
