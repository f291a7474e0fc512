// A stand-in for the EC2 instance metadata service (IMDSv2) of one instance, on a
// loopback address of its own: the metadata script a node runs at boot asks it for a
// session token (PUT /latest/api/token) and then, with that token, for the instance id
// and private address. Requests without a valid token are refused with 401, as EC2 does
// when HttpTokens is required, so a script that skips the token step fails here too.
//
// Real EC2 serves this at 169.254.169.254; nodes booted on this machine reach it at the
// address this returns instead. That address is the only thing substituted in a node's
// user-data (see node-host.ts).
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './net.ts';

/** The loopback block metadata stand-ins take their addresses from (127.231.x.y). */
const IMDS_BLOCK = 231;

export interface InstanceMetadata {
  readonly instanceId: string;
  readonly localIpv4: string;
}

export interface ImdsOptions {
  /**
   * A failing metadata service: every request is answered with this status (counted
   * under "<status> <path>"), as when the service refuses or is broken.
   */
  readonly refuseWith?: number;
  /** A hung metadata service: every request is held open, never answered (counted under "hung <path>"). */
  readonly hang?: boolean;
}

export interface ImdsStandIn {
  /** http://<address>:<port>, replacing http://169.254.169.254 for one node. */
  readonly baseUrl: string;
  /** Requests answered, by path (tokens refused count under "401 <path>"). */
  readonly requests: ReadonlyMap<string, number>;
  stop(): Promise<void>;
}

export async function startImds(metadata: InstanceMetadata, opts: ImdsOptions = {}): Promise<ImdsStandIn> {
  const tokens = new Map<string, number>();
  const requests = new Map<string, number>();
  const count = (key: string): void => {
    requests.set(key, (requests.get(key) ?? 0) + 1);
  };
  const server = createServer((req, res) => {
    if (opts.hang) return count(`hung ${(req.url ?? '').split('?')[0] ?? ''}`);
    if (opts.refuseWith === undefined) return answer(req, res, metadata, tokens, count);
    count(`${opts.refuseWith} ${(req.url ?? '').split('?')[0] ?? ''}`);
    res.writeHead(opts.refuseWith, { 'content-type': 'text/plain' });
    res.end('metadata unavailable');
  });
  const listening = await listenOnLoopback(server, IMDS_BLOCK);
  return { baseUrl: `http://${listening.address}:${listening.port}`, requests, stop: () => listening.stop() };
}

function answer(
  req: IncomingMessage,
  res: ServerResponse,
  md: InstanceMetadata,
  tokens: Map<string, number>,
  count: (key: string) => void,
): void {
  const path = (req.url ?? '').split('?')[0] ?? '';
  const send = (status: number, body: string): void => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(body);
  };
  if (path === '/latest/api/token') {
    const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
    if (req.method !== 'PUT') return send(405, 'token requests are PUT');
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return send(400, 'missing or invalid X-aws-ec2-metadata-token-ttl-seconds');
    const token = randomBytes(24).toString('base64url');
    tokens.set(token, Date.now() + ttl * 1000);
    count(path);
    return send(200, token);
  }
  const token = req.headers['x-aws-ec2-metadata-token'];
  const expires = typeof token === 'string' ? tokens.get(token) : undefined;
  if (expires === undefined || expires < Date.now()) {
    count(`401 ${path}`);
    return send(401, 'Unauthorized');
  }
  const values: Record<string, string> = {
    '/latest/meta-data/instance-id': md.instanceId,
    '/latest/meta-data/local-ipv4': md.localIpv4,
  };
  const value = values[path];
  if (value === undefined || req.method !== 'GET') return send(404, 'Not Found');
  count(path);
  send(200, value);
}
