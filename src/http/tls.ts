// TLS for the controller's own HTTP server: a certificate and key from PEM files (a
// docker or Kubernetes secret, cert-manager, an operator's CA). The bearer token of
// /v1/alerts and the join tokens /v1/bootstrap answers with then never cross the network
// in clear. Files are checked at start (a pair that does not load is a usage error, not
// a server that fails every handshake), and re-read when they change, so a rotated
// certificate is served without a restart; a rotated pair that does not load is refused
// and the one in use kept.
//
// Behind a TLS-terminating proxy the socket's peer is the proxy. trustedProxyList()
// parses the addresses whose X-Forwarded-For is believed; fastify (proxy-addr) then takes
// the client address as the first untrusted hop from the right, so a client cannot
// spoof its address by sending its own X-Forwarded-For through the proxy, and a client
// that reaches the server directly has its header ignored.
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { isIP, type Server as NetServer } from 'node:net';
import { createSecureContext, Server as TlsServer } from 'node:tls';
import type { Logger } from '../log.ts';
import { messageOf } from '../errors.ts';

export interface ServerTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface ServerTls {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** Reads and checks a certificate (chain) and its private key; throws naming the file at fault, never its content. */
export function readServerTls(files: ServerTlsFiles): ServerTls {
  const cert = readPem(files.certFile, 'certificate', 'CERTIFICATE');
  const key = readPem(files.keyFile, 'private key', 'PRIVATE KEY');
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    // OpenSSL's reason ("key values mismatch", "bad end line") names no key material.
    throw new Error(`${files.certFile} and ${files.keyFile} are not a certificate and its private key: ${opensslReason(err)}`, {
      cause: err,
    });
  }
  return { cert, key };
}

function readPem(file: string, what: string, label: string): Buffer {
  let text: Buffer;
  try {
    text = readFileSync(file);
  } catch (err) {
    throw new Error(`${file}: cannot read the ${what} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`, { cause: err });
  }
  if (!text.toString('latin1').includes(`-----BEGIN `) || !text.toString('latin1').includes(`${label}-----`)) {
    throw new Error(`${file}: expected a PEM ${what} (-----BEGIN ...${label}-----)`);
  }
  return text;
}

function opensslReason(err: unknown): string {
  const reason = (err as { reason?: unknown }).reason;
  return typeof reason === 'string' ? reason : messageOf(err).replace(/^error:[0-9A-F]+:/i, '');
}

/**
 * Re-reads the files every `intervalMs` (stat polling: works on bind mounts and
 * Kubernetes secret volumes, whose files change by symlink swap) and gives the server
 * the new pair. Returns the function that stops watching.
 */
export function reloadTlsOnChange(server: NetServer, files: ServerTlsFiles, logger: Logger, intervalMs = 30_000): () => void {
  if (!(server instanceof TlsServer)) throw new Error('reloading TLS files of a server that does not serve TLS');
  const log = logger.child({ component: 'http' });
  const reload = (): void => {
    try {
      const tls = readServerTls(files);
      server.setSecureContext({ cert: tls.cert, key: tls.key });
      log.info({ certFile: files.certFile }, 'Serving the renewed TLS certificate');
    } catch (err) {
      log.warn({ err }, 'Keeping the TLS certificate in use: the changed files do not load');
    }
  };
  const onChange = (cur: { mtimeMs: number }, prev: { mtimeMs: number }): void => {
    if (cur.mtimeMs !== prev.mtimeMs) reload();
  };
  for (const f of [files.certFile, files.keyFile]) watchFile(f, { interval: intervalMs, persistent: false }, onChange);
  return () => {
    for (const f of [files.certFile, files.keyFile]) unwatchFile(f, onChange);
  };
}

/**
 * Parses a comma-separated list of proxy addresses or CIDR blocks (`10.0.0.7,
 * 10.1.0.0/16, fd00::/8`). `*`, `true` and hop counts are refused: trusting every
 * sender would let any client name its own source address.
 */
export function trustedProxyList(value: string): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new Error('expected one or more proxy addresses or CIDR blocks, comma-separated');
  for (const item of items) {
    const [addr = '', bits, extra] = item.split('/');
    const family = isIP(addr);
    const maxBits = family === 6 ? 128 : 32;
    const okBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits);
    if (family === 0 || !okBits || extra !== undefined) {
      throw new Error(`${JSON.stringify(item)} is not an IP address or CIDR block (for example 10.0.0.7 or 10.0.0.0/24)`);
    }
  }
  return items;
}
