import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestCertificates } from '../../test/support/certs.ts';
import { sourceBoundFetch } from './source-bound-fetch.ts';

let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      res.writeHead(req.url === '/busy' ? 503 : 200, { 'content-type': 'application/json', 'retry-after': '2' });
      res.end(JSON.stringify({ from: req.socket.remoteAddress, method: req.method, type: req.headers['content-type'], body }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('sourceBoundFetch', () => {
  it('sends from the given address, with method, headers and body, and answers as a Response', async () => {
    for (const source of ['127.0.0.7', '127.0.0.9']) {
      const res = await sourceBoundFetch(source)(new URL('/v1/bootstrap', url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"a":1}',
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ from: source, method: 'POST', type: 'application/json', body: '{"a":1}' });
    }
  });

  it('passes status and headers of a refusal through', async () => {
    const res = await sourceBoundFetch('127.0.0.7')(`${url}/busy`);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
  });
});

describe('sourceBoundFetch over https with a CA bundle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sk-sbf-tls-'));
  let tls: HttpsServer;
  let tlsUrl = '';
  const certs = makeTestCertificates(dir, ['127.0.0.1']);
  const other = makeTestCertificates(dir, ['127.0.0.1'], { name: 'other' });

  beforeAll(async () => {
    tls = createHttpsServer({ cert: readFileSync(certs.serverCertFile), key: readFileSync(certs.serverKeyFile) }, (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ from: req.socket.remoteAddress }));
    });
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', () => r()));
    tlsUrl = `https://127.0.0.1:${(tls.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => tls.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('trusts the server signed by the given CA, from the given source address', async () => {
    const res = await sourceBoundFetch('127.0.0.7', { ca: readFileSync(certs.caFile, 'utf8') })(`${tlsUrl}/x`);
    expect(await res.json()).toEqual({ from: '127.0.0.7' });
  });

  it('refuses a server the given CA did not sign, saying which CA file did not accept it', async () => {
    const fetchWrongCa = sourceBoundFetch('127.0.0.7', {
      ca: readFileSync(other.caFile, 'utf8'),
      caSource: '/etc/swarmkeeper/bootstrap-ca.pem',
    });
    await expect(fetchWrongCa(`${tlsUrl}/x`)).rejects.toThrow(
      /^the controller at https:\/\/127\.0\.0\.1:\d+ presented a certificate that the CA in \/etc\/swarmkeeper\/bootstrap-ca\.pem does not accept \(UNABLE_TO_VERIFY_LEAF_SIGNATURE: /,
    );
  });

  it('without a CA bundle, uses the system store and says a private CA needs the flag', async () => {
    await expect(sourceBoundFetch('127.0.0.7')(`${tlsUrl}/x`)).rejects.toThrow(
      /the system's CA store \(a private CA needs --bootstrap-ca-file\) does not accept/,
    );
  });
});
