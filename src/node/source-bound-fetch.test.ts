import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
      const res = await sourceBoundFetch(source)(new URL('/v1/bootstrap', url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
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
