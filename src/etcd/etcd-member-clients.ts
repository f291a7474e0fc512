// The cluster etcd's members, one etcd3 client each: several membership calls must reach
// one particular member (status() asks each member about itself, moveLeader goes to the
// current leader, removeMember through a member other than the one removed), so etcd3's
// own retry/failover is switched off and the routing is done here: which member to ask
// first, and moving on to the next only when one does not answer.
import { readFileSync } from 'node:fs';
import { Etcd3, type IMember, type IOptions } from 'etcd3';
import { SwarmkeeperError } from '../errors.ts';
import { toEtcdError } from './etcd-errors.ts';

export interface EtcdMembershipTls {
  /** PEM files; or the PEM text itself in ca/cert/key. */
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly ca?: string | Buffer;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
}

export interface EtcdMembershipOptions {
  /** Client URLs of (some) members; more are learnt from the member list. */
  readonly endpoints: readonly string[];
  readonly credentials?: { readonly username: string; readonly password: string };
  readonly tls?: EtcdMembershipTls;
  /** Deadline of each call to one member; default 5 s. A member slower than this counts as unhealthy. */
  readonly callTimeoutMs?: number;
  /** How long membership changes keep retrying etcd's "unhealthy cluster" refusal; default 15 s. */
  readonly unhealthyRetryMs?: number;
}

export class MemberClients {
  private readonly clients = new Map<string, Etcd3>();
  private readonly seeds: readonly string[];
  readonly callTimeoutMs: number;
  private readonly baseOptions: Omit<IOptions, 'hosts'>;
  /** Client URLs of the voters in the last member list, tried before the seeds. */
  private known: readonly string[] = [];
  /**
   * The URL that answered last, asked first next time: a member that does not answer
   * costs a whole call timeout, and a few of them ahead of a live one in the list would
   * outlast the observation's deadline every cycle (dead managers would then never be
   * seen, so never replaced).
   */
  private answered: string | undefined;

  constructor(opts: EtcdMembershipOptions) {
    if (opts.endpoints.length === 0) throw new SwarmkeeperError('Usage', 'etcd membership: no endpoints given');
    for (const e of opts.endpoints) {
      if (!/^https?:\/\/[^/]+/.test(e)) throw new SwarmkeeperError('Usage', `etcd membership: endpoint ${e} is not an http(s):// URL`);
    }
    this.seeds = [...opts.endpoints];
    this.callTimeoutMs = opts.callTimeoutMs ?? 5_000;
    const noop = { execute: <T>(fn: () => T) => fn() };
    this.baseOptions = {
      dialTimeout: this.callTimeoutMs,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + this.callTimeoutMs }),
      faultHandling: { host: () => noop as never, global: noop as never },
      ...(opts.credentials ? { auth: { username: opts.credentials.username, password: opts.credentials.password } } : {}),
      ...(opts.tls ? { credentials: tlsCredentials(opts.tls) } : {}),
    };
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  /** Asks the known voters, then the seeds, the last one that answered first. */
  anyMember<T>(context: string, fn: (c: Etcd3) => Promise<T>): Promise<T> {
    return this.firstAnswering(context, [...new Set([...this.known, ...this.seeds])], fn);
  }

  /**
   * Runs `fn` against each URL in turn until one answers. Only an unreachable member moves
   * on to the next; an answer that is a refusal (precondition, conflict) is final.
   */
  async firstAnswering<T>(context: string, urls: readonly string[], fn: (c: Etcd3) => Promise<T>): Promise<T> {
    let last: SwarmkeeperError | undefined;
    const first = this.answered !== undefined && urls.includes(this.answered) ? this.answered : undefined;
    for (const url of first === undefined ? urls : [first, ...urls.filter((u) => u !== first)]) {
      try {
        const out = await this.call(context, url, fn);
        this.answered = url;
        return out;
      } catch (err) {
        if (!(err instanceof SwarmkeeperError) || err.code !== 'Unavailable' || /unhealthy cluster/i.test(err.message)) throw err;
        last = err;
      }
    }
    throw last ?? new SwarmkeeperError('Unavailable', `${context}: no endpoint to ask`);
  }

  async call<T>(context: string, url: string, fn: (c: Etcd3) => Promise<T>): Promise<T> {
    try {
      return await fn(this.clientFor(url));
    } catch (err) {
      throw toEtcdError(`${context} (via ${url})`, err, { endpoint: url });
    }
  }

  private clientFor(url: string): Etcd3 {
    let c = this.clients.get(url);
    if (!c) {
      c = new Etcd3({ ...this.baseOptions, hosts: [url] });
      this.clients.set(url, c);
    }
    return c;
  }

  /** Only voters are remembered as endpoints to ask: a learner refuses MemberList and membership changes. */
  learn(members: readonly IMember[]): void {
    this.known = members.flatMap((m) => (m.isLearner === true ? [] : m.clientURLs.slice(0, 1)));
  }
}

function tlsCredentials(tls: EtcdMembershipTls): NonNullable<IOptions['credentials']> {
  const read = (pem: string | Buffer | undefined, file: string | undefined, what: string): Buffer | undefined => {
    if (pem !== undefined) return Buffer.isBuffer(pem) ? pem : Buffer.from(pem);
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new SwarmkeeperError('Usage', `etcd TLS: cannot read the ${what} file ${file}: ${(err as Error).message}`, { cause: err });
    }
  };
  const rootCertificate = read(tls.ca, tls.caFile, 'CA');
  if (!rootCertificate) throw new SwarmkeeperError('Usage', 'etcd TLS: a CA (caFile) is required to verify the members');
  const privateKey = read(tls.key, tls.keyFile, 'key');
  const certChain = read(tls.cert, tls.certFile, 'certificate');
  if ((privateKey === undefined) !== (certChain === undefined)) {
    throw new SwarmkeeperError('Usage', 'etcd TLS: give both the client certificate and its key, or neither');
  }
  return { rootCertificate, ...(privateKey && certChain ? { privateKey, certChain } : {}) };
}
