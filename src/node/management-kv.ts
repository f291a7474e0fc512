// What the node agent reads and writes in the management etcd, as a narrow port (so the
// agent's loop is tested against a real etcd in integration, and its decisions without
// one), plus the etcd3 adapter. Key names come from clusterKeys(); record shapes from
// cluster-endpoints.ts.
import type { Etcd3, Watcher } from 'etcd3';
import { wrapError } from '../errors.ts';
import { clusterKeys, type ClusterKeys } from '../store/keys.ts';
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
} from './cluster-endpoints.ts';

export interface ManagementKv {
  readClaim(): Promise<InitClaim | undefined>;
  /** Create-if-absent; true when this call created the claim. */
  claimInit(claim: InitClaim): Promise<boolean>;
  readEndpoints(): Promise<ClusterEndpoints | undefined>;
  /** Create-if-absent: the first manager's write never overwrites the controller's. */
  publishInitialEndpoints(e: ClusterEndpoints): Promise<void>;
  hasTokens(): Promise<boolean>;
  readTokens(): Promise<SwarmTokensRecord | undefined>;
  /** Create-if-absent: the tokens of the swarm that was initialised first win. */
  storeTokens(t: SwarmTokensRecord): Promise<void>;
  /** Calls `onChange` whenever keys.endpoints is written; returns a stop function. */
  watchEndpoints(onChange: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export class EtcdManagementKv implements ManagementKv {
  private readonly keys: ClusterKeys;
  private readonly tokensKey: string;

  /** `ownsClient`: close() also closes the etcd3 client. */
  constructor(
    private readonly client: Etcd3,
    prefix: string,
    cluster: string,
    private readonly ownsClient = true,
  ) {
    this.keys = clusterKeys(prefix, cluster);
    this.tokensKey = swarmTokensKey(this.keys.secrets);
  }

  async readClaim(): Promise<InitClaim | undefined> {
    const text = await this.get(this.keys.initClaim, 'reading the init claim');
    return text === null ? undefined : parseClaim(text, this.keys.initClaim);
  }

  async claimInit(claim: InitClaim): Promise<boolean> {
    return this.createIfAbsent(this.keys.initClaim, encodeClaim(claim), 'claiming cluster initialisation');
  }

  async readEndpoints(): Promise<ClusterEndpoints | undefined> {
    const text = await this.get(this.keys.endpoints, 'reading the cluster endpoints');
    return text === null ? undefined : parseEndpoints(text, this.keys.endpoints);
  }

  async publishInitialEndpoints(e: ClusterEndpoints): Promise<void> {
    await this.createIfAbsent(this.keys.endpoints, encodeEndpoints({ ...e, updatedAt: new Date().toISOString() }), 'publishing the cluster endpoints');
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
