// Readiness probes for a local etcd: GET /health (or /version) on a loopback client
// URL, with the TLS files when the URL is https. Only loopback addresses are probed:
// the process was started on this machine, and tests never send traffic elsewhere.
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { SwarmkeeperError } from '../errors.ts';

export interface HealthProbeTls {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

/** GET `<clientUrl>/health` once; true when etcd says {"health":"true"}. */
export async function checkEtcdHealth(clientUrl: string, tls?: HealthProbeTls, path = '/health'): Promise<boolean> {
  const url = new URL(path, clientUrl);
  assertLoopback(url);
  const body = await httpGet(url, tls, 3_000).catch(() => undefined);
  if (body === undefined) return false;
  if (path !== '/health') return true;
  try {
    return (JSON.parse(body) as { health?: unknown }).health === 'true';
  } catch {
    return false;
  }
}

export interface WaitHealthOptions {
  readonly timeoutMs?: number;
  readonly tls?: HealthProbeTls;
  readonly path?: string;
  /** Returns a message to give up early (the process died). */
  readonly abortIf?: () => string | undefined;
}

/** Polls until /health answers ok; throws Unavailable after the timeout. */
export async function waitForEtcdHealth(clientUrl: string, opts: WaitHealthOptions = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  const path = opts.path ?? '/health';
  for (;;) {
    const abort = opts.abortIf?.();
    if (abort) throw new SwarmkeeperError('Unavailable', abort);
    if (await checkEtcdHealth(clientUrl, opts.tls, path)) return;
    if (Date.now() > deadline) {
      throw new SwarmkeeperError('Unavailable', `etcd at ${clientUrl} did not answer ${path} within ${opts.timeoutMs ?? 60_000} ms`);
    }
    await sleep(50);
  }
}

function assertLoopback(url: URL): void {
  if (!isLoopbackHost(url.hostname)) {
    throw new SwarmkeeperError('Usage', `refusing to probe ${url.host}: etcd health checks go to loopback addresses only`);
  }
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function httpGet(url: URL, tls: HealthProbeTls | undefined, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const common = { method: 'GET', timeout: timeoutMs };
    const req =
      url.protocol === 'https:'
        ? httpsRequest(url, {
            ...common,
            ...(tls?.caFile ? { ca: readFileSync(tls.caFile) } : {}),
            ...(tls?.certFile ? { cert: readFileSync(tls.certFile) } : {}),
            ...(tls?.keyFile ? { key: readFileSync(tls.keyFile) } : {}),
          })
        : httpRequest(url, common);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 500) >= 400 && url.pathname !== '/health') reject(new Error(`HTTP ${res.statusCode}`));
        else resolve(body);
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
