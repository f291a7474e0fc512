// One-time bootstrap tokens: what an EC2 node carries in its user-data instead of a
// swarm join token or an etcd password (the way kubeadm bootstrap tokens and Docker for
// AWS's token server worked). The controller issues one per launch; the node exchanges
// it at POST /v1/bootstrap (src/http/bootstrap-route.ts) for what it needs to join.
//
// The token's shape and derivation are in bootstrap-token-format.ts. Issuing again for
// the same launch intent yields the same token, so the user-data of a repeated
// RunInstances is byte-identical and EC2's ClientToken idempotency holds (another token
// would be "the same client token with other parameters"). The HMAC key lives under
// keys.secrets, beside the swarm join tokens, with the same protection.
//
// Validity: until the spec's node startup timeout (a node that has not joined by then
// is cleaned up anyway). Batches: one token for a launch of N instances; each instance
// redeems it once, with its instance id, which the route checks belongs to that launch.
import { randomBytes } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import { SwarmkeeperError, wrapError } from '../errors.ts';
import type { ResolvedSpec } from '../spec/defaults.ts';
import type { Role } from '../spec/schema.ts';
import type {
  BootstrapTokenIssuer,
  BootstrapTokenRecord,
  BootstrapTokenVerifier,
  IssueRequest,
  NodeCredentials,
  VerifyResult,
} from './bootstrap-token-port.ts';
import { clusterKeys } from './keys.ts';
import type { NodeAgentConfig } from '../protocol/agent-config.ts';
import {
  deriveBootstrapToken,
  deriveNodeCredential,
  parseBootstrapToken,
  sameDigest,
  sameNodeCredential,
  sha256Hex,
} from './bootstrap-token-format.ts';

const HMAC_KEY_SECRET = 'bootstrap-hmac-key';

export class EtcdBootstrapTokens implements BootstrapTokenIssuer, BootstrapTokenVerifier, NodeCredentials {
  private readonly hmacKeys = new Map<string, Buffer>();

  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {}

  async issue(req: IssueRequest): Promise<string> {
    if (!/^[\x21-\x7e]{1,64}$/.test(req.clientToken))
      throw new SwarmkeeperError('Internal', 'issuing a bootstrap token: the client token is not 1-64 printable ASCII');
    const { id, secret, token } = deriveBootstrapToken(await this.hmacKey(req.cluster), req);
    const recordKey = this.recordKey(req.cluster, id);
    const now = this.now();
    const fresh: BootstrapTokenRecord = {
      cluster: req.cluster,
      role: req.role,
      clientToken: req.clientToken,
      hash: sha256Hex(secret),
      issuedAt: now,
      expiresAt: now + req.ttlSeconds * 1000,
      redeemed: {},
      ...(req.instances === undefined ? {} : { instances: req.instances }),
    };
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        const current = await this.read(recordKey);
        if (!current) {
          const res = await this.client
            .if(recordKey, 'Create', '==', 0)
            .then(this.client.put(recordKey).value(JSON.stringify(fresh)))
            .commit();
          if (res.succeeded) break;
          continue;
        }
        // A repeat of the same launch: the same token. It gets a new validity window
        // only when the old one ran out (the launch is being retried, not replayed).
        if (current.record.expiresAt > now && current.record.hash === fresh.hash) break;
        const next = { ...current.record, hash: fresh.hash, expiresAt: fresh.expiresAt };
        const res = await this.client
          .if(recordKey, 'Mod', '==', current.modRevision)
          .then(this.client.put(recordKey).value(JSON.stringify(next)))
          .commit();
        if (res.succeeded) break;
      }
    } catch (err) {
      throw wrapError(`issuing a bootstrap token for launch ${req.clientToken}`, err);
    }
    return token;
  }

  async verify(cluster: string, token: string, instanceId: string): Promise<VerifyResult> {
    const parsed = parseBootstrapToken(token);
    if (!parsed) return { ok: false, reason: 'malformed' };
    const current = await this.read(this.recordKey(cluster, parsed.id));
    if (!current || current.record.cluster !== cluster) return { ok: false, reason: 'unknown' };
    if (!sameDigest(sha256Hex(parsed.secret), current.record.hash)) return { ok: false, reason: 'mismatch' };
    if (this.now() >= current.record.expiresAt) return { ok: false, reason: 'expired' };
    if (current.record.redeemed[instanceId] !== undefined) return { ok: false, reason: 'used' };
    // Every instance of the launch has its answer: a replay for some other instance id
    // is refused here, without asking the provider whether that instance exists.
    if (current.record.instances !== undefined && Object.keys(current.record.redeemed).length >= current.record.instances)
      return { ok: false, reason: 'used' };
    return { ok: true, id: parsed.id, record: current.record };
  }

  async consume(cluster: string, id: string, instanceId: string): Promise<boolean> {
    const recordKey = this.recordKey(cluster, id);
    try {
      // Instances of one batch redeem concurrently: compare-and-swap, retried.
      for (let attempt = 0; attempt < 10; attempt++) {
        const current = await this.read(recordKey);
        if (!current || current.record.redeemed[instanceId] !== undefined) return false;
        const next: BootstrapTokenRecord = { ...current.record, redeemed: { ...current.record.redeemed, [instanceId]: this.now() } };
        const res = await this.client
          .if(recordKey, 'Mod', '==', current.modRevision)
          .then(this.client.put(recordKey).value(JSON.stringify(next)))
          .commit();
        if (res.succeeded) return true;
      }
    } catch (err) {
      throw wrapError('recording a bootstrap token redemption', err);
    }
    throw new SwarmkeeperError('Conflict', 'recording a bootstrap token redemption: too many concurrent writers');
  }

  async redeemedBy(cluster: string, token: string, instanceId: string): Promise<boolean> {
    const parsed = parseBootstrapToken(token);
    if (!parsed) return false;
    const current = await this.read(this.recordKey(cluster, parsed.id));
    if (!current || !sameDigest(sha256Hex(parsed.secret), current.record.hash)) return false;
    return current.record.redeemed[instanceId] !== undefined && this.now() < current.record.expiresAt;
  }

  async nodeCredential(cluster: string, instanceId: string): Promise<string> {
    return deriveNodeCredential(await this.hmacKey(cluster), cluster, instanceId);
  }

  async verifyNodeCredential(cluster: string, instanceId: string, credential: string): Promise<boolean> {
    return sameNodeCredential(credential, await this.nodeCredential(cluster, instanceId));
  }

  /** Deletes records whose validity ended; returns how many. */
  async purgeExpired(cluster: string): Promise<number> {
    const prefix = clusterKeys(this.prefix, cluster).bootstrapTokens;
    const all = await this.client.getAll().prefix(prefix).strings();
    let n = 0;
    for (const [key, text] of Object.entries(all)) {
      const rec = safeParse(text);
      if (!rec || rec.expiresAt <= this.now()) {
        await this.client.delete().key(key);
        n++;
      }
    }
    return n;
  }

  private recordKey(cluster: string, id: string): string {
    return `${clusterKeys(this.prefix, cluster).bootstrapTokens}${id}`;
  }

  private async read(key: string): Promise<{ record: BootstrapTokenRecord; modRevision: string } | undefined> {
    const res = await this.client.get(key).exec();
    const kv = res.kvs[0];
    if (!kv) return undefined;
    const record = safeParse(kv.value.toString());
    return record ? { record, modRevision: kv.mod_revision } : undefined;
  }

  private async hmacKey(cluster: string): Promise<Buffer> {
    const cached = this.hmacKeys.get(cluster);
    if (cached) return cached;
    const key = `${clusterKeys(this.prefix, cluster).secrets}${HMAC_KEY_SECRET}`;
    try {
      await this.client
        .if(key, 'Create', '==', 0)
        .then(this.client.put(key).value(randomBytes(32).toString('base64')))
        .commit();
      const text = await this.client.get(key).string();
      if (!text) throw new SwarmkeeperError('Internal', 'the bootstrap HMAC key vanished after it was created');
      const buf = Buffer.from(text, 'base64');
      this.hmacKeys.set(cluster, buf);
      return buf;
    } catch (err) {
      throw wrapError('reading the bootstrap token key', err);
    }
  }
}

function safeParse(text: string): BootstrapTokenRecord | undefined {
  try {
    const v = JSON.parse(text) as BootstrapTokenRecord;
    return typeof v.hash === 'string' &&
      typeof v.expiresAt === 'number' &&
      typeof v.redeemed === 'object' &&
      (v.instances === undefined || Number.isSafeInteger(v.instances))
      ? v
      : undefined;
  } catch {
    return undefined;
  }
}

export interface BootstrapAgentConfigOptions {
  readonly issuer: BootstrapTokenIssuer;
  /** Where nodes reach the controller's POST /v1/bootstrap (https on the VPC). */
  readonly bootstrapUrl: string;
  /** PEM CA certificates rendered into the user-data: what nodes trust for bootstrapUrl. */
  readonly bootstrapCa?: string;
  readonly managementEndpoints: readonly string[];
  readonly prefix: string;
  readonly agentImage?: string;
  /** Whether the cluster's new managers serve docker over TLS (src/controller/cluster-docker-tls.ts); default no. */
  readonly dockerTls?: (cluster: string) => Promise<boolean>;
  /**
   * For clusters of other providers (local passes the config on a command line, where a
   * token would be visible): their factory, e.g. localAgentConfig. Without it every
   * cluster gets a token.
   */
  readonly otherProviders?: (spec: ResolvedSpec, role: Role, clientToken: string) => Promise<NodeAgentConfig>;
}

/**
 * The executor's AgentConfigFactory for ec2: a token per launch intent, valid for the
 * spec's node startup timeout. Signature matches src/act/context.ts.
 */
export function bootstrapAgentConfig(
  opts: BootstrapAgentConfigOptions,
): (spec: ResolvedSpec, role: Role, clientToken: string, count?: number) => Promise<NodeAgentConfig> {
  return async (spec, role, clientToken, count) => {
    if (spec.providerName !== 'ec2' && opts.otherProviders) return opts.otherProviders(spec, role, clientToken);
    return ec2AgentConfig(opts, spec, role, clientToken, count);
  };
}

async function ec2AgentConfig(
  opts: BootstrapAgentConfigOptions,
  spec: ResolvedSpec,
  role: Role,
  clientToken: string,
  count: number | undefined,
): Promise<NodeAgentConfig> {
  return {
    cluster: spec.name,
    role,
    managementEtcd: { endpoints: [...opts.managementEndpoints], prefix: opts.prefix },
    bootstrapUrl: opts.bootstrapUrl,
    ...(opts.bootstrapCa ? { bootstrapCa: opts.bootstrapCa } : {}),
    bootstrapToken: await opts.issuer.issue({
      cluster: spec.name,
      role,
      clientToken,
      ttlSeconds: spec.healing.nodeStartupTimeoutSeconds,
      ...(count === undefined ? {} : { instances: count }),
    }),
    ...agentImageOf(spec, opts.agentImage),
    ...(role === 'manager' && (await opts.dockerTls?.(spec.name)) ? { dockerTls: true } : {}),
  };
}

/** The spec's image (the user's registry) wins over the controller's --agent-image. */
function agentImageOf(spec: ResolvedSpec, fallback: string | undefined): { agentImage?: string } {
  const image = spec.provider.ec2?.agentImage ?? fallback;
  return image ? { agentImage: image } : {};
}
