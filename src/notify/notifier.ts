// Outgoing notifications (the seeds sent Slack messages). notify() never blocks and
// never throws: it puts the event on a bounded queue and returns; one sender drains the
// queue in order, retrying each message with exponential backoff. When the queue is
// full the OLDEST message is dropped (and counted): a newer message about the same
// cluster says more than an older one. The same event within `dedupeWindowMs` is sent
// once (a brake hold is seen every cycle; people want to hear about it once).
//
// The webhook URL usually carries a secret in its path (Slack, Mattermost), so it is
// never logged and errors are scrubbed of it before they are logged.
import type { Logger } from '../log.ts';
import { messageOf } from '../errors.ts';
import { dedupeKeyOf, formatNotification, type NotificationEvent, type SlackMessage } from './format.ts';
import { backoffDelay, sleep } from '../retry.ts';

export interface NotifierOptions {
  readonly webhookUrl: string;
  readonly logger: Logger;
  /** Default 100. */
  readonly maxQueue?: number;
  /** Attempts per message, the first included; default 5. */
  readonly maxAttempts?: number;
  /** First retry delay; doubles per attempt up to maxDelayMs. Default 500 ms / 30 s. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Per request; default 5000 ms. */
  readonly timeoutMs?: number;
  /** Default 15 minutes; 0 sends every event. */
  readonly dedupeWindowMs?: number;
  readonly clock?: () => number;
  /** Counts outcomes in metrics (createMetrics().recordNotification). */
  readonly onOutcome?: (outcome: 'sent' | 'failed' | 'dropped') => void;
}

export interface NotifierStats {
  sent: number;
  failed: number;
  dropped: number;
  deduplicated: number;
}

interface Queued {
  readonly key: string;
  readonly message: SlackMessage;
}

export class Notifier {
  readonly stats: NotifierStats = { sent: 0, failed: 0, dropped: 0, deduplicated: 0 };
  private readonly opts: Required<Omit<NotifierOptions, 'onOutcome'>> & Pick<NotifierOptions, 'onOutcome'>;
  private readonly log: Logger;
  private readonly queue: Queued[] = [];
  private readonly lastSent = new Map<string, number>();
  private draining: Promise<void> | undefined;
  private closed = false;
  private readonly abort = new AbortController();

  constructor(opts: NotifierOptions) {
    if (!/^https?:\/\//.test(opts.webhookUrl)) throw new Error('the notification webhook URL must start with http:// or https://');
    this.opts = {
      maxQueue: 100,
      maxAttempts: 5,
      baseDelayMs: 500,
      maxDelayMs: 30_000,
      timeoutMs: 5_000,
      dedupeWindowMs: 15 * 60_000,
      clock: Date.now,
      ...opts,
    };
    this.log = opts.logger.child({ component: 'notify' });
  }

  /** Queues the event and returns at once. */
  notify(event: NotificationEvent): void {
    if (this.closed) return;
    const key = dedupeKeyOf(event);
    const now = this.opts.clock();
    const last = this.lastSent.get(key);
    if (this.opts.dedupeWindowMs > 0 && last !== undefined && now - last < this.opts.dedupeWindowMs) {
      this.stats.deduplicated++;
      return;
    }
    if (this.queue.some((q) => q.key === key)) {
      this.stats.deduplicated++;
      return;
    }
    this.lastSent.set(key, now);
    this.queue.push({ key, message: formatNotification(event) });
    while (this.queue.length > this.opts.maxQueue) {
      const dropped = this.queue.shift() as Queued;
      this.lastSent.delete(dropped.key);
      this.stats.dropped++;
      this.opts.onOutcome?.('dropped');
      this.log.warn({ queued: this.queue.length }, 'Dropping the oldest notification: the queue is full');
    }
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  /** Resolves when the queue is empty (or after `timeoutMs`); for shutdown and tests. */
  async flush(timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.draining && Date.now() < deadline) {
      await Promise.race([this.draining, sleep(Math.max(1, Math.min(100, deadline - Date.now())))]);
    }
    return this.draining === undefined;
  }

  /** Stops sending; queued messages are given `graceMs` to go out, then dropped. */
  async close(graceMs = 2_000): Promise<void> {
    this.closed = true;
    await this.flush(graceMs);
    this.abort.abort();
    await this.draining?.catch(() => {});
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.abort.signal.aborted) {
      const item = this.queue.shift() as Queued;
      await this.deliver(item);
    }
  }

  private async deliver(item: Queued): Promise<void> {
    const backoff = { initialMs: this.opts.baseDelayMs, maxMs: this.opts.maxDelayMs };
    for (let attempt = 1; attempt <= this.opts.maxAttempts; attempt++) {
      const outcome = await this.post(item.message);
      if (outcome === 'ok') {
        this.stats.sent++;
        this.opts.onOutcome?.('sent');
        return;
      }
      if (outcome === 'permanent' || attempt === this.opts.maxAttempts || this.abort.signal.aborted) break;
      // Stopping ends the wait; the loop then gives up at its abort check.
      await sleep(backoffDelay(attempt, backoff), this.abort.signal).catch(() => undefined);
    }
    this.lastSent.delete(item.key);
    this.stats.failed++;
    this.opts.onOutcome?.('failed');
    this.log.warn({ event: item.key.split('/')[0] }, 'Giving up on a notification');
  }

  private async post(message: SlackMessage): Promise<'ok' | 'retry' | 'permanent'> {
    try {
      const res = await fetch(this.opts.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(message),
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.opts.timeoutMs)]),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return 'ok';
      // 429 and 5xx are the receiver's trouble and pass; other 4xx will not get better.
      const retry = res.status === 429 || res.status >= 500;
      this.log.warn({ statusCode: res.status, retry }, 'Notification webhook refused a message');
      return retry ? 'retry' : 'permanent';
    } catch (err) {
      this.log.warn({ err: this.scrub(describe(err)) }, 'Sending a notification failed');
      return 'retry';
    }
  }

  private scrub(text: string): string {
    return text.split(this.opts.webhookUrl).join('<webhook>');
  }
}

function describe(err: unknown): string {
  const cause = err instanceof Error && err.cause !== undefined ? `: ${messageOf(err.cause)}` : '';
  return `${messageOf(err)}${cause}`;
}
