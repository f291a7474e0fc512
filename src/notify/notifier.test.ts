// The notifier against a real HTTP receiver on a loopback address from the shared pool.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../log.ts';
import { releaseLoopback, reserveLoopback } from '../net/loopback-pool.ts';
import { formatNotification, type NotificationEvent } from './format.ts';
import { Notifier } from './notifier.ts';
import { until } from '../../test/support/until.ts';

const BLOCK = 47;
const SECRET_PATH = '/services/T000/B000/XXXXsecretXXXX';

interface Receiver {
  readonly url: string;
  readonly bodies: unknown[];
  /** Decides each answer; default 200. */
  respond: (req: IncomingMessage, res: ServerResponse) => void;
  close(): Promise<void>;
}

let address: string;
beforeAll(() => {
  address = reserveLoopback({ block: BLOCK });
});
afterAll(() => releaseLoopback(address));

const receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

async function startReceiver(): Promise<Receiver> {
  const bodies: unknown[] = [];
  const r: Receiver = {
    url: '',
    bodies,
    respond: (_req, res) => res.writeHead(200).end('ok'),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      r.respond(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  const port = (server.address() as { port: number }).port;
  Object.assign(r, { url: `http://${address}:${port}${SECRET_PATH}` });
  receivers.push(r);
  return r;
}

function capturedLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { logger: createLogger({ destination, level: 'debug' }), lines };
}

const events: NotificationEvent[] = [
  { kind: 'nodeReplaced', cluster: 'prod', instanceId: 'w1', role: 'worker', replacementId: 'w7', reason: 'Alert SwarmNodeDown firing' },
  {
    kind: 'remediationHeld',
    cluster: 'prod',
    rule: 'R10-remediation-brakes',
    reason: 'MaxUnhealthyExceeded',
    message: '3 of 5 workers unhealthy, at most 2 may be',
  },
  { kind: 'quorumAtRisk', cluster: 'prod', raft: 'etcd', margin: 0, message: '2 of 3 members healthy' },
  { kind: 'specInvalid', cluster: 'prod', message: 'spec.managers.count: must be 1, 3, 5 or 7' },
];

describe('Notifier', () => {
  it('posts Slack-compatible JSON for every event kind', async () => {
    const rx = await startReceiver();
    const n = new Notifier({ webhookUrl: rx.url, logger: capturedLogger().logger });
    for (const e of events) n.notify(e);
    expect(await n.flush()).toBe(true);
    expect(rx.bodies).toEqual(events.map(formatNotification));
    const texts = rx.bodies.map((b) => (b as { text: string }).text);
    expect(texts[0]).toContain('replaced worker node w1 with w7');
    expect(texts[1]).toContain('MaxUnhealthyExceeded');
    expect(texts[2]).toContain('etcd quorum at risk');
    expect(texts[3]).toContain('spec.managers.count');
    expect(n.stats).toMatchObject({ sent: 4, failed: 0, dropped: 0 });
    await n.close();
  });

  it('retries 5xx with backoff and gives up on other 4xx', async () => {
    const rx = await startReceiver();
    let calls = 0;
    rx.respond = (_req, res) => {
      calls++;
      res.writeHead(calls <= 2 ? 503 : 200).end();
    };
    const n = new Notifier({ webhookUrl: rx.url, logger: capturedLogger().logger, baseDelayMs: 10 });
    n.notify(events[0] as NotificationEvent);
    await n.flush();
    expect(calls).toBe(3);
    expect(n.stats.sent).toBe(1);

    rx.respond = (_req, res) => res.writeHead(404).end();
    n.notify(events[1] as NotificationEvent);
    await n.flush();
    expect(n.stats.failed).toBe(1);
    expect(rx.bodies).toHaveLength(4);
    await n.close();
  });

  it('never blocks: a stalled receiver fills the bounded queue and the oldest are dropped', async () => {
    const rx = await startReceiver();
    const stalled: ServerResponse[] = [];
    rx.respond = (_req, res) => stalled.push(res);
    const outcomes: string[] = [];
    const n = new Notifier({
      webhookUrl: rx.url,
      logger: capturedLogger().logger,
      maxQueue: 3,
      timeoutMs: 60_000,
      onOutcome: (o) => outcomes.push(o),
    });
    const started = performance.now();
    for (let i = 0; i < 10; i++) n.notify({ kind: 'specInvalid', cluster: `c${i}`, message: `problem ${i}` });
    expect(performance.now() - started).toBeLessThan(200);
    await until('the first message to reach the stalled receiver', () => stalled.length === 1, { timeoutMs: 20_000, intervalMs: 20 });
    // One message is in flight, three wait, six were dropped (the oldest ones).
    expect(n.stats.dropped).toBe(6);
    expect(outcomes.filter((o) => o === 'dropped')).toHaveLength(6);
    rx.respond = (_req, res) => res.writeHead(200).end();
    stalled[0]?.writeHead(200).end();
    expect(await n.flush()).toBe(true);
    const clusters = rx.bodies.map((b) => /(c\d):/.exec((b as { text: string }).text)?.[1]);
    expect(clusters).toEqual(['c0', 'c7', 'c8', 'c9']);
    await n.close();
  });

  it('sends the same event once per window', async () => {
    const rx = await startReceiver();
    let now = 1_000_000;
    const n = new Notifier({ webhookUrl: rx.url, logger: capturedLogger().logger, clock: () => now, dedupeWindowMs: 60_000 });
    n.notify(events[1] as NotificationEvent);
    await n.flush();
    n.notify(events[1] as NotificationEvent);
    now += 61_000;
    n.notify(events[1] as NotificationEvent);
    await n.flush();
    expect(rx.bodies).toHaveLength(2);
    expect(n.stats.deduplicated).toBe(1);
    await n.close();
  });

  it('never logs the webhook URL, even when the receiver is gone', async () => {
    const rx = await startReceiver();
    const url = rx.url;
    await rx.close();
    receivers.pop();
    const { logger, lines } = capturedLogger();
    const n = new Notifier({ webhookUrl: url, logger, baseDelayMs: 5, maxAttempts: 3 });
    n.notify(events[0] as NotificationEvent);
    await n.flush();
    expect(n.stats.failed).toBe(1);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    const all = lines.join('\n');
    expect(all).not.toContain('XXXXsecretXXXX');
    expect(all).toContain('Sending a notification failed');
    await n.close();
  });
});
