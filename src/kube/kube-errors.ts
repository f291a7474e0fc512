// client-node's errors sorted into swarmkeeper's codes at the boundary: the rest of the
// code never sees an ApiException.
import { SwarmkeeperError, messageOf, type ErrorCode } from '../errors.ts';

/**
 * The HTTP status of a client-node error, if it carries one: `statusCode` from Watch when
 * the server refuses the request, `code` (a number) from the generated API clients'
 * ApiException. Read by shape, so classifying an error never loads the client.
 */
export function statusOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown } | null;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return typeof e?.code === 'number' ? e.code : undefined;
}

const CODES: Record<number, ErrorCode> = {
  401: 'Unauthorized',
  403: 'Unauthorized',
  404: 'NotFound',
  409: 'Conflict',
  422: 'SpecInvalid',
  429: 'Throttled',
};

export function classifyKubeError(context: string, err: unknown): SwarmkeeperError {
  const status = statusOf(err);
  const code: ErrorCode = (status === undefined ? undefined : CODES[status]) ?? 'Unavailable';
  return new SwarmkeeperError(code, `${context}: ${status ? `HTTP ${status}: ${reasonOf(err)}` : messageOf(err)}`, { cause: err });
}

/** The API server's Status message, else the first line of the error. */
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
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string')
    return (body as { message: string }).message;
  return messageOf(err).split('\n')[0] ?? 'error';
}
