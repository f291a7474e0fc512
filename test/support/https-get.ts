// GET over HTTPS trusting one CA file only (a private CA's server), with a time limit.
// `asHost` checks the certificate against that name instead of the URL's host: one
// replica behind a shared name, reached at its own address (curl's --resolve).
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { checkServerIdentity } from 'node:tls';

export function httpsGet(
  url: string,
  caFile: string,
  opts: { asHost?: string; timeoutMs?: number } = {},
): Promise<{ status: number; body: string }> {
  const asHost = opts.asHost;
  const identity = asHost
    ? { checkServerIdentity: (_: string, cert: Parameters<typeof checkServerIdentity>[1]) => checkServerIdentity(asHost, cert) }
    : {};
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: readFileSync(caFile), timeout: opts.timeoutMs ?? 5_000, ...identity }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Whether the controller at `baseUrl` says it leads (GET /readyz); undefined when it does not answer. */
export async function controllerLeads(baseUrl: string, caFile: string, asHost?: string): Promise<boolean | undefined> {
  try {
    return (JSON.parse((await httpsGet(`${baseUrl}/readyz`, caFile, asHost ? { asHost } : {})).body) as { leader?: boolean }).leader;
  } catch {
    return undefined;
  }
}
