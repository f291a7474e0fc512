// What the node agent reads and writes in the management etcd, as a narrow port (so the
// agent's loop is tested against a real etcd in integration, and its decisions without
// one), plus the etcd3 adapter. Key names come from clusterKeys(); record shapes from
// cluster-endpoints.ts.
import type { Etcd3, Lease, Watcher } from 'etcd3';
import { wrapError } from '../errors.ts';
import { assembleSnapshot, parseRecoveryOrder, recoveryLayout, type RecoveryOrder } from '../protocol/recovery-order.ts';
import { clusterKeys, type ClusterKeys } from './keys.ts';
import {
  encodeClaim,
  encodeEndpoints,
  encodeTokens,
  parseClaim,
  parseEndpoints,
  parseTokens,
  swarmTokensKey,
  type ClusterEndpoints,
  type InitClaim,
  type SwarmTokensRecord,
} from '../protocol/cluster-endpoints.ts';

/** How long an unconfirmed init claim outlives the node that made it. */
const CLAIM_TTL_SECONDS = 15;

export interface ManagementKv {
  readClaim(): Promise<InitClaim | undefined>;
  /**
   * Create-if-absent; true when this call created the claim. The claim is held on a lease
   * this process keeps alive until the endpoints are published: a node that dies while
   * initialising frees the claim for the next manager instead of blocking the cluster.
   */
  claimInit(claim: InitClaim): Promise<boolean>;
  readEndpoints(): Promise<ClusterEndpoints | undefined>;
  /**
   * Create-if-absent (the first manager's write never overwrites the controller's), then
   * makes this node's claim permanent: once the cluster exists it must never be claimed again.
   */
  publishInitialEndpoints(e: ClusterEndpoints): Promise<void>;
  hasTokens(): Promise<boolean>;
  readTokens(): Promise<SwarmTokensRecord | undefined>;
  /** Create-if-absent: the tokens of the swarm that was initialised first win. */
  storeTokens(t: SwarmTokensRecord): Promise<void>;
  /** The recovery order (keys.recovery), when `swarmkeeper recover` left one. */
  readRecoveryOrder(): Promise<RecoveryOrder | undefined>;
  /** The order's etcd snapshot, reassembled and checked against the order's SHA-256 (Corrupt otherwise). */
  readRecoverySnapshot(order: RecoveryOrder): Promise<Buffer>;
  /** Calls `onChange` whenever keys.endpoints is written; returns a stop function. */
  watchEndpoints(onChange: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export class EtcdManagementKv implements ManagementKv {
  private readonly keys: ClusterKeys;
  private readonly tokensKey: string;
  /** The init claim this process created and has not made permanent yet. */
  private heldClaim: { readonly text: string; readonly lease: Lease } | undefined;

  /**
   * `ownsClient`: close() also closes the etcd3 client. `leaseClaims`: claims live on a
   * lease this object keeps alive until the endpoints are published (a node's agent).
   */
  constructor(
    private readonly client: Etcd3,
    prefix: string,
    cluster: string,
    private readonly ownsClient = true,
    private readonly leaseClaims = true,
  ) {
    this.keys = clusterKeys(prefix, cluster);
    this.tokensKey = swarmTokensKey(this.keys.secrets);
  }

  /**
   * The controller's view for the EC2 bootstrap route: a fresh object per request, so a
   * lease held in it would be forgotten (never made permanent when the founder reports)
   * and would die with the controller, letting a second manager claim and initialise a
   * second cluster. Its claims are permanent from the start.
   */
  static forController(client: Etcd3, prefix: string, cluster: string): EtcdManagementKv {
    return new EtcdManagementKv(client, prefix, cluster, false, false);
  }

  async readClaim(): Promise<InitClaim | undefined> {
    const text = await this.get(this.keys.initClaim, 'reading the init claim');
    return text === null ? undefined : parseClaim(text, this.keys.initClaim);
  }

  async claimInit(claim: InitClaim): Promise<boolean> {
    const text = encodeClaim(claim);
    if (!this.leaseClaims) return this.createIfAbsent(this.keys.initClaim, text, 'claiming cluster initialisation');
    const lease = this.client.lease(CLAIM_TTL_SECONDS, { autoKeepAlive: true });
    try {
      const id = await lease.grant();
      const key = this.keys.initClaim;
      const res = await this.client.if(key, 'Create', '==', 0).then(this.client.put(key).value(text).lease(id)).commit();
      if (!res.succeeded) {
        await lease.revoke().catch(() => undefined);
        return false;
      }
      this.heldClaim?.lease.release();
      this.heldClaim = { text, lease };
      return true;
    } catch (err) {
      await lease.revoke().catch(() => undefined);
      throw wrapError('claiming cluster initialisation', err);
    }
  }

  async readEndpoints(): Promise<ClusterEndpoints | undefined> {
    const text = await this.get(this.keys.endpoints, 'reading the cluster endpoints');
    return text === null ? undefined : parseEndpoints(text, this.keys.endpoints);
  }

  async publishInitialEndpoints(e: ClusterEndpoints): Promise<void> {
    await this.createIfAbsent(
      this.keys.endpoints,
      encodeEndpoints({ ...e, updatedAt: new Date().toISOString() }),
      'publishing the cluster endpoints',
    );
    const held = this.heldClaim;
    if (!held) return;
    try {
      // Re-put without the lease (only while the claim is still ours): it outlives us now.
      const key = this.keys.initClaim;
      await this.client.if(key, 'Value', '==', held.text).then(this.client.put(key).value(held.text)).commit();
    } catch (err) {
      throw wrapError('making the init claim permanent', err);
    }
    held.lease.release();
    this.heldClaim = undefined;
  }

  async hasTokens(): Promise<boolean> {
    return (await this.get(this.tokensKey, 'reading the swarm join tokens')) !== null;
  }

  async readTokens(): Promise<SwarmTokensRecord | undefined> {
    const text = await this.get(this.tokensKey, 'reading the swarm join tokens');
    return text === null ? undefined : parseTokens(text, this.tokensKey);
  }

  async storeTokens(t: SwarmTokensRecord): Promise<void> {
    await this.createIfAbsent(this.tokensKey, encodeTokens(t), 'storing the swarm join tokens');
  }

  async readRecoveryOrder(): Promise<RecoveryOrder | undefined> {
    const key = recoveryLayout(this.keys.recovery).order;
    const text = await this.get(key, 'reading the recovery order');
    return text === null ? undefined : parseRecoveryOrder(text, key);
  }

  async readRecoverySnapshot(order: RecoveryOrder): Promise<Buffer> {
    const { parts } = recoveryLayout(this.keys.recovery);
    let kvs: Record<string, string>;
    try {
      kvs = await this.client.getAll().prefix(parts).strings();
    } catch (err) {
      throw wrapError('reading the recovery snapshot', err);
    }
    return assembleSnapshot(order, new Map(Object.entries(kvs)), parts, 'recovery snapshot');
  }

  async watchEndpoints(onChange: () => void): Promise<() => Promise<void>> {
    let watcher: Watcher;
    try {
      watcher = await this.client.watch().key(this.keys.endpoints).create();
    } catch (err) {
      throw wrapError('watching the cluster endpoints', err);
    }
    watcher.on('put', () => onChange());
    watcher.on('delete', () => onChange());
    // After a reconnect the watch resumes; a change may have been missed meanwhile.
    watcher.on('connected', () => onChange());
    watcher.on('error', () => onChange());
    return async () => {
      await watcher.cancel().catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    // Stop keeping an unconfirmed claim alive: it expires and another manager may claim.
    this.heldClaim?.lease.release();
    this.heldClaim = undefined;
    if (this.ownsClient) this.client.close();
  }

  private async get(key: string, context: string): Promise<string | null> {
    try {
      return await this.client.get(key).string();
    } catch (err) {
      throw wrapError(context, err);
    }
  }

  private async createIfAbsent(key: string, value: string, context: string): Promise<boolean> {
    try {
      const res = await this.client.if(key, 'Create', '==', 0).then(this.client.put(key).value(value)).commit();
      return res.succeeded;
    } catch (err) {
      throw wrapError(context, err);
    }
  }
}
