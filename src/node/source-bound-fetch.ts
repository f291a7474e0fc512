// The agent's requests to the controller leave from the node's own private address.
// The controller binds a bootstrap token to the instance's private address and refuses
// an exchange from any other source; a host with more than one address (a second
// interface, or loopback aliases on a test machine) would otherwise pick its source by
// route, not by identity. The global fetch cannot choose its source address without
// the undici package, so this is the small part of fetch the agent uses (method,
// headers, string body; the answer as a standard Response) over node:http(s).
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export function sourceBoundFetch(localAddress: string): typeof fetch {
  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    const body = typeof init.body === 'string' ? init.body : undefined;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(url, { method: init.method ?? 'GET', headers, localAddress, timeout: 30_000 }, resolve);
      req.once('timeout', () => req.destroy(new Error(`no answer from ${url.origin} within 30 s`)));
      req.once('error', reject);
      req.end(body);
    });
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const responseHeaders = new Headers();
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) responseHeaders.set(k, Array.isArray(v) ? v.join(', ') : v);
    return new Response(chunks.length > 0 ? Buffer.concat(chunks) : null, { status: res.statusCode ?? 0, headers: responseHeaders });
  }) as typeof fetch;
}
