// A free TCP port on a loopback address, for peers that take their port on the command
// line (moto, Alertmanager). The port is released before the peer binds it; the peers'
// helpers retry a start that lost that race.
import type { Server as HttpServer } from 'node:http';
import { createServer } from 'node:net';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';

export async function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, address, () => {
      const a = srv.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `server` on a fresh address of the loopback block, port chosen by the kernel.
 * stop() closes every connection (held ones too), the server, and releases the address.
 */
export async function listenOnLoopback(
  server: HttpServer,
  block: number,
): Promise<{ address: string; port: number; stop(): Promise<void> }> {
  const address = reserveLoopback({ block });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, address, () => resolve());
    });
  } catch (err) {
    releaseLoopback(address);
    throw err;
  }
  return {
    address,
    port: (server.address() as { port: number }).port,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      releaseLoopback(address);
    },
  };
}
