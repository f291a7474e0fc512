// Leader election among controller replicas with etcd3's Election API (one leader for
// all clusters). Leadership is proven by the campaign key: it exists, bound to our
// lease, at the create revision it had when we won. That pair is the LeaderFence every
// controller write quotes (fenced-write.ts), so a deposed leader cannot act even before
// it notices it was deposed.
//
// Losing the lease (keepalive failed past its TTL) or seeing the campaign key deleted
// aborts the leadership's AbortSignal at once; the controller stops acting on it, and
// the election campaigns again after a short pause.
import { EventEmitter } from 'node:events';
import type { Campaign, Etcd3, Watcher as EtcdWatcher } from 'etcd3';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import { electionPrefix } from './keys.ts';
import type { LeaderFence } from './port.ts';

export interface Leadership {
  readonly identity: string;
  readonly fence: LeaderFence;
  /** Aborted the moment leadership is lost or given up. */
  readonly signal: AbortSignal;
}

export interface LeaderElectionOptions {
  readonly prefix: string;
  /** Who we are (shown as the leader's value): host and pid by default. */
  readonly identity: string;
  /** Lease TTL: how long a dead leader blocks the others. */
  readonly ttlSeconds?: number;
  /** Pause before campaigning again after a loss. */
  readonly retryMs?: number;
  readonly logger?: Logger;
}

interface ElectionEvents {
  elected: [Leadership];
  lost: [Error];
}

export class LeaderElection extends EventEmitter<ElectionEvents> {
  private campaign: Campaign | undefined;
  private current: { leadership: Leadership; abort: AbortController; watcher?: EtcdWatcher } | undefined;
  private stopped = true;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(
    private readonly client: Etcd3,
    private readonly opts: LeaderElectionOptions,
  ) {
    super();
    this.log = (opts.logger ?? silentLogger()).child({ component: 'election' });
  }

  /** The leadership held right now, or undefined. */
  get leadership(): Leadership | undefined {
    return this.current && !this.current.abort.signal.aborted ? this.current.leadership : undefined;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.campaignOnce();
  }

  /** Resigns (the next replica takes over at once) and stops campaigning. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const campaign = this.campaign;
    this.campaign = undefined;
    this.drop(new Error('resigned'), false);
    if (campaign) await campaign.resign().catch(() => undefined);
  }

  /** The identity of the current leader, as anyone can see it. */
  async leader(): Promise<string | undefined> {
    return this.election().leader();
  }

  private election() {
    return controllerElection(this.client, this.opts.prefix, this.opts.ttlSeconds ?? 10);
  }

  private campaignOnce(): void {
    if (this.stopped) return;
    const campaign = this.election().campaign(this.opts.identity);
    this.campaign = campaign;
    this.log.debug({ identity: this.opts.identity }, 'Campaigning for leadership');
    campaign.on('elected', () => {
      void this.onElected(campaign);
    });
    campaign.on('error', (err) => {
      if (this.campaign !== campaign) return;
      this.log.warn({ err }, 'Leadership campaign failed');
      this.drop(err, true);
    });
  }

  private async onElected(campaign: Campaign): Promise<void> {
    try {
      const key = await campaign.getCampaignKey();
      const res = await this.client.get(key).exec();
      const kv = res.kvs[0];
      if (!kv || this.campaign !== campaign) throw new Error('campaign key vanished right after the election');
      const abort = new AbortController();
      const leadership: Leadership = {
        identity: this.opts.identity,
        fence: { key, createRevision: kv.create_revision },
        signal: abort.signal,
      };
      this.current = { leadership, abort };
      // The key disappears when the lease expires on the server or someone deletes it:
      // either way we are no longer leader, whatever our local lease timer believes.
      const watcher = await this.client
        .watch()
        .key(key)
        .startRevision(String(BigInt(res.header.revision) + 1n))
        .create();
      if (this.current?.abort !== abort) {
        await watcher.cancel();
        return;
      }
      this.current.watcher = watcher;
      watcher.on('delete', () => {
        if (this.current?.abort === abort) this.drop(new Error('election key deleted'), true);
      });
      this.log.info({ identity: this.opts.identity }, 'Elected leader');
      this.emit('elected', leadership);
    } catch (err) {
      this.log.warn({ err }, 'Taking up leadership failed');
      this.drop(err instanceof Error ? err : new Error(String(err)), true);
    }
  }

  /** Gives up the current leadership (if any) and, when `retry`, campaigns again. */
  private drop(err: Error, retry: boolean): void {
    const cur = this.current;
    this.current = undefined;
    if (cur) {
      cur.abort.abort(err);
      void cur.watcher?.cancel().catch(() => undefined);
      this.log.warn({ err }, 'Lost leadership');
      this.emit('lost', err);
    }
    if (!retry || this.stopped) return;
    const old = this.campaign;
    this.campaign = undefined;
    if (old) void old.resign().catch(() => undefined);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.campaignOnce(), this.opts.retryMs ?? 1000);
    this.retryTimer.unref?.();
  }
}

function controllerElection(client: Etcd3, prefix: string, ttlSeconds: number) {
  return client.namespace(`${electionPrefix(prefix)}/`).election('controller', ttlSeconds);
}

/** The identity of the controller leading right now, or undefined when none runs (for the CLI). */
export async function currentLeader(client: Etcd3, prefix: string): Promise<string | undefined> {
  return controllerElection(client, prefix, 10).leader();
}
