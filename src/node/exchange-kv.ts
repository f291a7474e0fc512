// The ec2 side of the join protocol: a node without access to the management etcd gets
// its instructions by exchanging its one-time bootstrap token at the controller (POST
// /v1/bootstrap), and the first manager reports the swarm it created (POST
// /v1/bootstrap/initialized, which also writes the claim's endpoints). The published
// endpoints (and their changes) come from an EndpointsSource: on EC2 the controller's
// GET /v1/bootstrap/endpoints with the node credential of the answer, so nodes hold no
// management etcd credential. As a ManagementKv, it lets the same agent and the same
// decisions run on both.
//
// The token is used once: the answer is kept in the node's data dir (mode 0600), so an
// agent restarted before it joined carries on without a second exchange. Join tokens are
// secrets: they never reach a log line or an error message.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { SwarmkeeperError } from '../errors.ts';
import type { JoinResponse } from '../protocol/bootstrap-exchange.ts';
import type { ClusterEndpoints, InitClaim, SwarmTokensRecord } from '../protocol/cluster-endpoints.ts';
import type { ManagementKv } from '../store/management-kv.ts';
import type { EndpointsSource } from './controller-endpoints.ts';

export interface ExchangeClient {
  /** POST /v1/bootstrap; 503 answers carry a retry delay. */
  exchange(): Promise<{ status: number; retryAfterSeconds?: number; join?: JoinResponse }>;
  /** POST /v1/bootstrap/initialized; resolves with the HTTP status. */
  reportInitialized(tokens: SwarmTokensRecord): Promise<number>;
}

export interface ExchangeKvOptions {
  readonly instanceId: string;
  readonly address: string;
  /** keys.endpoints and its watch: a source, or one made from the answer (its node credential). */
  readonly endpoints: EndpointsSource | ((answer: JoinResponse) => EndpointsSource);
  readonly client: ExchangeClient;
  /** Where the answer is kept across agent restarts. */
  readonly answerFile: string;
  /**
   * Called once a joining node's answer is saved: the token can do nothing more for it
   * (the CLI deletes the token file). Not for the founder, which reports its swarm with
   * the token again after any restart (a report that changes nothing once recorded).
   */
  readonly onSpent?: () => void;
  /**
   * Called with the answer once per process (the agent writes the docker TLS files from
   * it). Returns true when what it wrote makes the node restart dockerd (the TLS path
   * unit does, for a new server.pem): see awaitsDockerRestart().
   */
  readonly onAnswer?: (a: JoinResponse) => boolean | void;
  /**
   * Called once when an announced dockerd restart has not come within
   * DOCKER_RESTART_WAIT_MS: the node carries on without it, and says so.
   */
  readonly onDockerRestartOverdue?: () => void;
  readonly now?: () => number;
}

/**
 * How long a restart of dockerd announced by onAnswer is waited for. Normally it comes in
 * seconds and stops this agent with it; one that never comes (a path unit that missed the
 * write) must not hold the node back for ever.
 */
export const DOCKER_RESTART_WAIT_MS = 120_000;

/** Someone else's claim, as far as this node can tell (the controller does not say whose). */
const OTHERS_CLAIM = (now: string): InitClaim => ({ instanceId: '(another node)', address: '', claimedAt: now });

export class ExchangeKv implements ManagementKv {
  private answer: JoinResponse | undefined;
  private inFlight: Promise<JoinResponse> | undefined;
  private reported = false;
  private notBefore = 0;
  private readonly now: () => number;

  constructor(private readonly o: ExchangeKvOptions) {
    this.now = o.now ?? Date.now;
    this.answer = readAnswer(o.answerFile);
  }

  async readClaim(): Promise<InitClaim | undefined> {
    const a = await this.join();
    const at = new Date(this.now()).toISOString();
    return a.initialize ? { instanceId: this.o.instanceId, address: this.o.address, claimedAt: at } : OTHERS_CLAIM(at);
  }

  /** The controller claimed for us (or not) during the exchange. */
  async claimInit(): Promise<boolean> {
    return (await this.join()).initialize;
  }

  /**
   * Never an order: the bootstrap answer carries no etcd snapshot, so `swarmkeeper recover`
   * refuses EC2 clusters rather than let a founder start an empty etcd.
   */
  async readRecoveryOrder(): Promise<undefined> {
    return undefined;
  }

  readRecoverySnapshot(): Promise<Buffer> {
    return Promise.reject(new SwarmkeeperError('NotFound', 'no recovery order reaches a node through the bootstrap exchange'));
  }

  async readEndpoints(): Promise<ClusterEndpoints | undefined> {
    return (await this.endpointsSource()).readEndpoints();
  }

  /** The controller wrote them when the first manager reported; nothing to do here. */
  async publishInitialEndpoints(): Promise<void> {}

  async hasTokens(): Promise<boolean> {
    const a = await this.join();
    return a.initialize ? this.reported : a.swarm !== undefined;
  }

  async readTokens(): Promise<SwarmTokensRecord | undefined> {
    const a = await this.join();
    // A node that joins only ever needs the worker token (the controller promotes).
    return a.swarm ? { worker: a.swarm.joinToken, manager: a.swarm.joinToken } : undefined;
  }

  async storeTokens(t: SwarmTokensRecord): Promise<void> {
    const status = await this.o.client.reportInitialized(t);
    if (status !== 204) throw new SwarmkeeperError('Unavailable', `reporting the initialised swarm to the controller: HTTP ${status}`);
    this.reported = true;
  }

  async watchEndpoints(onChange: () => void): Promise<() => Promise<void>> {
    return (await this.endpointsSource()).watchEndpoints(onChange);
  }

  /**
   * Whether this run wrote docker TLS files that dockerd does not serve yet. Their path
   * unit restarts dockerd, which stops the agent's container and the etcd member, gateway
   * or swarm state it would have started: the agent starts none of them before. The agent
   * restarted with dockerd finds the files current and carries on. Bounded by
   * DOCKER_RESTART_WAIT_MS.
   */
  awaitsDockerRestart(): boolean {
    if (this.restartAnnouncedAt === undefined) return false;
    if (this.now() - this.restartAnnouncedAt < DOCKER_RESTART_WAIT_MS) return true;
    this.restartAnnouncedAt = undefined;
    this.o.onDockerRestartOverdue?.();
    return false;
  }

  async close(): Promise<void> {
    await this.source?.close();
    if (typeof this.o.endpoints !== 'function') await this.o.endpoints.close();
  }

  private source: EndpointsSource | undefined;

  /** Made once, after the exchange when it needs the answer's credential. */
  private async endpointsSource(): Promise<EndpointsSource> {
    if (typeof this.o.endpoints !== 'function') return this.o.endpoints;
    this.source ??= this.o.endpoints(await this.join());
    return this.source;
  }

  /** One exchange at a time: the agent asks for claim and tokens together, the token is good once. */
  private join(): Promise<JoinResponse> {
    if (this.answer) return this.applied(this.answer);
    this.inFlight ??= this.exchangeOnce().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async exchangeOnce(): Promise<JoinResponse> {
    if (this.now() < this.notBefore) throw new SwarmkeeperError('Unavailable', 'waiting to retry the bootstrap token exchange');
    const res = await this.o.client.exchange();
    if (res.status === 200 && res.join) {
      // Saved before anything else may fail: the token is spent, the answer must not be.
      writeAnswer(this.o.answerFile, res.join);
      this.answer = res.join;
      // The founder keeps its token for the report (POST /v1/bootstrap/initialized).
      if (!res.join.initialize) this.o.onSpent?.();
      return this.applied(res.join);
    }
    if (res.status === 503) {
      this.notBefore = this.now() + (res.retryAfterSeconds ?? 10) * 1000;
      throw new SwarmkeeperError(
        'Unavailable',
        `the controller asked to retry the bootstrap token exchange in ${res.retryAfterSeconds ?? 10} s`,
      );
    }
    // 401: the token is invalid, expired or used; a node that cannot join is dead (replaced).
    if (res.status === 401) {
      throw new SwarmkeeperError(
        'Unauthorized',
        'the controller refused the bootstrap token exchange: HTTP 401 (token invalid, expired or already used); this node cannot join and the controller replaces it after its startup timeout; the controller log says which check failed',
      );
    }
    throw new SwarmkeeperError('Unavailable', `the controller refused the bootstrap token exchange: HTTP ${res.status}; retrying`);
  }

  /**
   * Applies what the answer carries on this node (onAnswer: the docker certificate) once
   * per process, also for an answer saved by an earlier run, which may have died before
   * it was applied. A failure leaves the saved answer in place for the next try.
   */
  private appliedOnce = false;
  private restartAnnouncedAt: number | undefined;

  private applied(a: JoinResponse): Promise<JoinResponse> {
    if (!this.appliedOnce) {
      try {
        if (this.o.onAnswer?.(a) === true) this.restartAnnouncedAt = this.now();
      } catch (err) {
        return Promise.reject(err);
      }
      this.appliedOnce = true;
    }
    return Promise.resolve(a);
  }
}

function readAnswer(file: string): JoinResponse | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as JoinResponse;
  } catch {
    return undefined;
  }
}

function writeAnswer(file: string, a: JoinResponse): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // Fsynced before the rename: a reboot must find the whole answer or none.
  writeFileAtomic.sync(file, JSON.stringify(a), { mode: 0o600, fsync: true });
}
