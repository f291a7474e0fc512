// client-node's errors sorted into swarmkeeper's codes at the boundary: the rest of the
// code never sees an ApiException.
import { ApiException } from '@kubernetes/client-node';
import { SwarmkeeperError, messageOf, type ErrorCode } from '../errors.ts';

/** The HTTP status of a client-node error, if it carries one. */
export function statusOf(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export function classifyKubeError(context: string, err: unknown): SwarmkeeperError {
  const status = statusOf(err);
  const code: ErrorCode =
    status === 404 ? 'NotFound' : status === 409 ? 'Conflict' : status === 401 || status === 403 ? 'Unauthorized' : status === 422 ? 'SpecInvalid' : status === 429 ? 'Throttled' : 'Unavailable';
  return new SwarmkeeperError(code, `${context}: ${status ? `HTTP ${status}: ${reasonOf(err)}` : messageOf(err)}`, { cause: err });
}

function reasonOf(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      if (parsed.message) return parsed.message;
    } catch {
      return body.slice(0, 300);
    }
  }
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') return (body as { message: string }).message;
  return messageOf(err).split('\n')[0] ?? 'error';
}
