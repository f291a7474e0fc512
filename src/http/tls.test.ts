import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { makeTestCertificates } from '../../test/support/certs.ts';
import { createLogger, silentLogger } from '../log.ts';
import { createMetrics } from './metrics.ts';
import { buildServer, listenServer, type ServerDeps } from './server.ts';
import { readServerTls, reloadTlsOnChange, trustedProxyList } from './tls.ts';

const dir = mkdtempSync(join(tmpdir(), 'sk-http-tls-'));
const first = makeTestCertificates(dir, [], { name: 'first' });
const second = makeTestCertificates(dir, [], { name: 'second' });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const echoIp: FastifyPluginAsync = async (a) => {
  a.get('/ip', async (req) => ({ ip: req.ip }));
};

async function serve(extra: Partial<ServerDeps> = {}) {
  app = await buildServer({
    logger: silentLogger(),
    metrics: createMetrics({ processMetrics: false }),
    readiness: { etcd: async () => true, isLeader: () => false },
    plugins: [{ plugin: echoIp }],
    ...extra,
  });
  return app;
}

/** GET over https trusting `caFile`; resolves with the status and the serial of the certificate served. */
function httpsGet(url: string, caFile: string): Promise<{ status: number; serial: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca: readFileSync(caFile), agent: false }, (res) => {
      const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, serial }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('readServerTls', () => {
  it('loads a certificate and its key', () => {
    const tls = readServerTls({ certFile: first.serverCertFile, keyFile: first.serverKeyFile });
    expect(tls.cert.toString()).toContain('BEGIN CERTIFICATE');
  });

  it('names the file at fault and never echoes key material', () => {
    const keyText = readFileSync(first.serverKeyFile, 'utf8');
    const errorOf = (f: () => unknown): string => {
      try {
        f();
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('expected a refusal');
    };
    expect(errorOf(() => readServerTls({ certFile: join(dir, 'missing.crt'), keyFile: first.serverKeyFile }))).toMatch(
      /missing\.crt: cannot read the certificate \(ENOENT\)/,
    );
    writeFileSync(join(dir, 'blank.key'), '\n');
    expect(errorOf(() => readServerTls({ certFile: first.serverCertFile, keyFile: join(dir, 'blank.key') }))).toMatch(
      /blank\.key: expected a PEM private key/,
    );
    const mismatch = errorOf(() => readServerTls({ certFile: first.serverCertFile, keyFile: second.serverKeyFile }));
    expect(mismatch).toMatch(/are not a certificate and its private key/);
    expect(mismatch).not.toContain(keyText.split('\n')[1]);
  });
});

describe('trustedProxyList', () => {
  it('takes addresses and CIDR blocks', () => {
    expect(trustedProxyList(' 10.0.0.7, 10.1.0.0/16,fd00::/8 ')).toEqual(['10.0.0.7', '10.1.0.0/16', 'fd00::/8']);
  });

  it.each(['', '*', 'true', '1', '10.0.0.0/33', 'proxy.example', '10.0.0.1/8/1'])('refuses %j', (value) => {
    expect(() => trustedProxyList(value)).toThrow(/proxy addresses|not an IP address/);
  });
});

describe('buildServer with TLS', () => {
  it('serves https only, under an https:// base URL', async () => {
    const a = await serve({ tls: readServerTls({ certFile: first.serverCertFile, keyFile: first.serverKeyFile }) });
    const base = await listenServer(a);
    expect(base).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect((await httpsGet(`${base}/healthz`, first.caFile)).status).toBe(200);
    // A client that does not trust the CA is refused by its own TLS check.
    await expect(httpsGet(`${base}/healthz`, second.caFile)).rejects.toThrow(/certificate/);
    // Plain HTTP gets no answer from the TLS listener.
    const plain = new Promise<number>((resolve, reject) => {
      const req = httpRequest(base.replace('https:', 'http:') + '/healthz', (res) => resolve(res.statusCode ?? 0));
      req.on('error', reject);
      req.end();
    });
    await expect(plain).rejects.toThrow();
  });

  it('serves a renewed certificate once its files change, and keeps the old one when the new pair does not load', async () => {
    const certFile = join(dir, 'live.crt');
    const keyFile = join(dir, 'live.key');
    copyFileSync(first.serverCertFile, certFile);
    copyFileSync(first.serverKeyFile, keyFile);
    let logText = '';
    const logger = createLogger({ level: 'info', destination: new Writable({ write: (c, _e, cb) => ((logText += c.toString()), cb()) }) });
    const a = await serve({ tls: readServerTls({ certFile, keyFile }) });
    const base = await listenServer(a);
    const stop = reloadTlsOnChange(a.server, { certFile, keyFile }, logger, 50);
    try {
      const before = await httpsGet(`${base}/healthz`, first.caFile);
      copyFileSync(second.serverKeyFile, keyFile);
      copyFileSync(second.serverCertFile, certFile);
      await expect
        .poll(async () => (await httpsGet(`${base}/healthz`, second.caFile).catch(() => ({ serial: before.serial }))).serial, {
          timeout: 10_000,
        })
        .not.toBe(before.serial);
      logText = '';
      writeFileSync(keyFile, 'not a key');
      await expect.poll(() => logText, { timeout: 10_000 }).toContain('Keeping the TLS certificate in use');
      expect((await httpsGet(`${base}/healthz`, second.caFile)).status).toBe(200);
    } finally {
      stop();
    }
  });
});

describe('buildServer with trusted proxies', () => {
  const forwarded = (a: FastifyInstance, remoteAddress: string, xff?: string) =>
    a.inject({ url: '/ip', remoteAddress, headers: xff ? { 'x-forwarded-for': xff } : {} }).then((r) => r.json<{ ip: string }>().ip);

  it('takes the client address from a trusted proxy, and the first untrusted hop of a spoofed chain', async () => {
    const a = await serve({ trustedProxies: trustedProxyList('10.0.0.7,10.2.0.0/16') });
    expect(await forwarded(a, '10.0.0.7', '10.5.5.5')).toBe('10.5.5.5');
    expect(await forwarded(a, '10.2.3.4', '10.5.5.5')).toBe('10.5.5.5');
    // The client sent "X-Forwarded-For: 10.5.5.5" itself; the proxy appended its real address.
    expect(await forwarded(a, '10.0.0.7', '10.5.5.5, 10.6.6.6')).toBe('10.6.6.6');
    // Straight from a client: its header is not believed.
    expect(await forwarded(a, '10.9.9.9', '10.5.5.5')).toBe('10.9.9.9');
  });

  it('believes no header when no proxy is trusted', async () => {
    const a = await serve();
    expect(await forwarded(a, '10.0.0.7', '10.5.5.5')).toBe('10.0.0.7');
  });
});
