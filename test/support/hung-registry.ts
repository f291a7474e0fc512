// A registry that hangs: it answers the registry API's version check (GET /v2/) as a
// registry does, then never answers anything else. A `docker pull` from it gets past the
// ping and waits for the manifest for ever, as with a registry that stalls behind a
// broken proxy. Each request is recorded. Plain HTTP on a loopback address of its own:
// dockerd treats 127.0.0.0/8 registries as insecure (it tries TLS, then HTTP).
import { createServer } from 'node:http';
import { listenOnLoopback } from './net.ts';

const HUNG_REGISTRY_BLOCK = 238;

export interface HungRegistry {
  /** address:port, the prefix of image references. */
  readonly host: string;
  /** "METHOD path" of every request, in order. */
  readonly requests: readonly string[];
  stop(): Promise<void>;
}

export async function startHungRegistry(): Promise<HungRegistry> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method ?? ''} ${req.url ?? ''}`);
    if (req.url === '/v2/' || req.url === '/v2') {
      res.writeHead(200, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' });
      res.end('{}');
      return;
    }
    // Held open: never answered (stop() closes it).
  });
  const listening = await listenOnLoopback(server, HUNG_REGISTRY_BLOCK);
  return { host: `${listening.address}:${listening.port}`, requests, stop: () => listening.stop() };
}
