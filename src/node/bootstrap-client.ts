// The agent's side of the bootstrap exchange (src/protocol/bootstrap-exchange.ts).
import {
  BOOTSTRAP_PATH,
  INITIALIZED_PATH,
  type ExchangeBody,
  type InitializedBody,
  type JoinResponse,
} from '../protocol/bootstrap-exchange.ts';

/** The node side of the exchange (exported so both ends are tested together). */
export async function exchangeBootstrapToken(
  bootstrapUrl: string,
  body: ExchangeBody,
  fetchImpl: typeof fetch = fetch,
): Promise<{ status: number; retryAfterSeconds?: number; join?: JoinResponse }> {
  const res = await fetchImpl(new URL(BOOTSTRAP_PATH, bootstrapUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status === 200) return { status: 200, join: (await res.json()) as JoinResponse };
  const retry = Number(res.headers.get('retry-after'));
  await res.body?.cancel();
  return { status: res.status, ...(Number.isFinite(retry) && retry > 0 ? { retryAfterSeconds: retry } : {}) };
}

/** The first manager's report of the swarm it initialised (the agent calls it after `swarm init`). */
export async function reportInitialized(bootstrapUrl: string, body: InitializedBody, fetchImpl: typeof fetch = fetch): Promise<number> {
  const res = await fetchImpl(new URL(INITIALIZED_PATH, bootstrapUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.body?.cancel();
  return res.status;
}
