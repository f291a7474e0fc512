// A free TCP port on a loopback address, for peers that take their port on the command
// line (moto, Alertmanager). The port is released before the peer binds it; the peers'
// helpers retry a start that lost that race.
import { createServer } from 'node:net';

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
