// The agent's requests to the controller leave from the node's own private address.
// The controller binds a bootstrap token to the instance's private address and refuses
// an exchange from any other source; a host with more than one address (a second
// interface, or loopback aliases on a test machine) would otherwise pick its source by
// route, not by identity. The global fetch cannot choose its source address without
// the undici package, so this is the small part of fetch the agent uses (method,
// headers, string body; the answer as a standard Response) over node:http(s).
//
// With `ca`, an https:// controller is verified against those certificates only (a
// private CA rendered into the user-data), not the system store.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { SwarmkeeperError } from '../errors.ts';

export interface SourceBoundFetchOptions {
  /** PEM certificates: the only trust anchors for https:// URLs. */
  readonly ca?: string;
  /** Named in the error when the controller's certificate is not trusted. */
  readonly caSource?: string;
}

export function sourceBoundFetch(localAddress: string, opts: SourceBoundFetchOptions = {}): typeof fetch {
  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const https = url.protocol === 'https:';
    const send = https ? httpsRequest : httpRequest;
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    const body = typeof init.body === 'string' ? init.body : undefined;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(
        url,
        {
          method: init.method ?? 'GET',
          headers,
          localAddress,
          timeout: 30_000,
          ...(init.signal ? { signal: init.signal } : {}),
          ...(https && opts.ca ? { ca: opts.ca } : {}),
        },
        resolve,
      );
      req.once('timeout', () => req.destroy(new Error(`no answer from ${url.origin} within 30 s`)));
      req.once('error', (err) => reject(untrusted(err, url, opts) ?? err));
      req.end(body);
    });
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const responseHeaders = new Headers();
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) responseHeaders.set(k, Array.isArray(v) ? v.join(', ') : v);
    return new Response(chunks.length > 0 ? Buffer.concat(chunks) : null, { status: res.statusCode ?? 0, headers: responseHeaders });
  }) as typeof fetch;
}

// OpenSSL's verification codes (UNABLE_TO_VERIFY_LEAF_SIGNATURE, SELF_SIGNED_CERT_IN_CHAIN,
// CERT_HAS_EXPIRED, ...) and Node's host name check (ERR_TLS_CERT_ALTNAME_INVALID).
const CERTIFICATE_PROBLEM = /CERT|SIGNATURE|SELF_SIGNED/;

/** A certificate the node does not trust, said so plainly: no retry will fix it. */
function untrusted(err: NodeJS.ErrnoException, url: URL, opts: SourceBoundFetchOptions): SwarmkeeperError | undefined {
  if (url.protocol !== 'https:' || typeof err.code !== 'string' || !CERTIFICATE_PROBLEM.test(err.code)) return undefined;
  const trust = opts.ca
    ? `the CA in ${opts.caSource ?? 'the given CA bundle'}`
    : "the system's CA store (a private CA needs --bootstrap-ca-file)";
  return new SwarmkeeperError(
    'Unauthorized',
    `the controller at ${url.origin} presented a certificate that ${trust} does not accept (${err.code}: ${err.message})`,
    { cause: err },
  );
}
