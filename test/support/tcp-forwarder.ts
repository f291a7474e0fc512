// Stands in for the name users give the bootstrap URL (DNS over the controllers, or a TCP
// load balancer that keeps the client address): a TCP forwarder on a loopback address of
// its own that passes each connection, TLS untouched, to the first of its targets that
// accepts it. The outgoing connection is bound to the client's own address (every
// 127.0.0.0/8 address is local here), so the controller sees the node's private address,
// as it does behind such a balancer, and binds the node's token to it. setTargets() is the
// name moving: from the controller outside the cluster to the managers' replicas.
import { connect, createServer, type Socket } from 'node:net';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';

export interface Target {
  readonly host: string;
  readonly port: number;
}

export interface TcpForwarder {
  readonly address: string;
  readonly port: number;
  setTargets(targets: readonly Target[]): void;
  stop(): Promise<void>;
}

export async function startTcpForwarder(block: number, port: number, initial: readonly Target[]): Promise<TcpForwarder> {
  let targets = [...initial];
  const open = new Set<Socket>();
  const track = (s: Socket): void => {
    open.add(s);
    s.once('close', () => open.delete(s));
  };
  const server = createServer((client) => {
    track(client);
    client.pause();
    client.on('error', () => client.destroy());
    void connectFirst(targets, client.remoteAddress).then((upstream) => {
      if (!upstream) return client.destroy();
      track(upstream);
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream).pipe(client);
      client.resume();
    });
  });
  const address = reserveLoopback({ block });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => resolve());
    });
  } catch (err) {
    releaseLoopback(address);
    throw err;
  }
  return {
    address,
    port,
    setTargets(next) {
      targets = [...next];
    },
    async stop() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      releaseLoopback(address);
    },
  };
}

/** The first target that accepts a connection from `from`, or undefined when none does. */
async function connectFirst(targets: readonly Target[], from: string | undefined): Promise<Socket | undefined> {
  for (const t of targets) {
    const s = await new Promise<Socket | undefined>((resolve) => {
      const sock = connect({ host: t.host, port: t.port, ...(from ? { localAddress: from } : {}), timeout: 3000 });
      sock.once('connect', () => {
        sock.setTimeout(0);
        resolve(sock);
      });
      sock.once('timeout', () => sock.destroy());
      sock.once('error', () => resolve(undefined));
      sock.once('close', () => resolve(undefined));
    });
    if (s) return s;
  }
  return undefined;
}
