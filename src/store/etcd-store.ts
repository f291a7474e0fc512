// ClusterStore on the management etcd (keys from keys.ts):
//   spec       the user's document as written (apply writes JSON; etcdctl may write anything)
//   last-good  the last valid spec, with metadata.generation/uid/creationTimestamp: in force
//   status     the controller's status
//
// Contracts:
// - apply validates first and writes nothing on error (SpecInvalid). It writes spec and
//   last-good in ONE transaction guarded by the mod revisions it read (and by
//   `expectedRevision` / metadata.resourceVersion when given): a concurrent writer makes
//   it fail with Conflict instead of being overwritten silently.
// - generation increments on every spec change; an apply with the same spec, labels and
//   annotations is 'unchanged' and writes nothing. Label-only changes are 'configured'
//   without a generation bump (Kubernetes semantics).
// - metadata.resourceVersion is the spec key's mod revision, set on read, never stored.
// - writeStatus with a LeaderFence succeeds only while the election key exists at the
//   fence's create revision.
// - watch survives etcd restarts and compaction: see store-watch.ts.
import type { Etcd3 } from 'etcd3';
import { SwarmkeeperError, wrapError } from '../errors.ts';
import { assertValidCluster, validateCluster } from '../spec/validate.ts';
import { checkTextLimits, STORED_SPEC_LIMITS } from '../spec/text-limits.ts';
import type { SwarmCluster, SwarmClusterStatus } from '../spec/schema.ts';
import { composeStored, conflict, inForce, interpret, sameContent, tryParse, withRevision, type RawCluster } from './stored-doc.ts';
import { clusterKeys, clustersPrefix } from './keys.ts';
import type { ApplyResult, ClusterStore, ClusterWatchEvent, LeaderFence, StoredCluster, Watcher } from './port.ts';
import { watchClusterSpecs, type WatchLogger } from './store-watch.ts';

// Re-exported: callers read these from the store module.
export { composeStored, deepEqual, inForce, interpret, sameContent, specErrorOf, type RawCluster } from './stored-doc.ts';

export interface EtcdClusterStoreOptions {
  readonly prefix: string;
  readonly now?: () => number;
  readonly logger?: WatchLogger;
  /** Close the client in close(); default true. */
  readonly ownsClient?: boolean;
}

export class EtcdClusterStore implements ClusterStore {
  readonly client: Etcd3;
  readonly prefix: string;
  private readonly now: () => number;
  private readonly logger: WatchLogger | undefined;
  private readonly ownsClient: boolean;

  constructor(client: Etcd3, opts: EtcdClusterStoreOptions) {
    this.client = client;
    this.prefix = opts.prefix;
    this.now = opts.now ?? Date.now;
    this.logger = opts.logger;
    this.ownsClient = opts.ownsClient ?? true;
  }

  keys(name: string): ReturnType<typeof clusterKeys> {
    return clusterKeys(this.prefix, name);
  }

  /** The three keys of a cluster, read at one revision. */
  async readRaw(name: string): Promise<RawCluster> {
    const k = this.keys(name);
    let res;
    try {
      res = await this.client.kv.txn({
        compare: [],
        success: [k.spec, k.lastGood, k.status, k.deletion].map((key) => ({ request_range: { key: Buffer.from(key) } })),
        failure: [],
      });
    } catch (err) {
      throw wrapError(`reading cluster ${name}`, err);
    }
    const kvOf = (i: number): { value: Buffer; mod_revision: string } | undefined => res.responses[i]?.response_range?.kvs[0];
    const spec = kvOf(0);
    const lastGood = kvOf(1);
    const status = kvOf(2);
    const deletion = kvOf(3);
    return {
      name,
      ...(spec ? { specText: spec.value.toString('utf8') } : {}),
      specRevision: spec?.mod_revision ?? '0',
      ...(lastGood ? { lastGoodText: lastGood.value.toString('utf8') } : {}),
      lastGoodRevision: lastGood?.mod_revision ?? '0',
      ...(status ? { statusText: status.value.toString('utf8') } : {}),
      ...(deletion ? { deletionText: deletion.value.toString('utf8') } : {}),
    };
  }

  async get(name: string): Promise<StoredCluster | undefined> {
    return interpret(await this.readRaw(name));
  }

  async list(): Promise<StoredCluster[]> {
    const names = await this.listNames();
    const out: StoredCluster[] = [];
    for (const name of names) {
      const c = await this.get(name);
      if (c) out.push(c);
    }
    return out;
  }

  /** Names of every cluster that has a spec or last-good key, sorted. */
  async listNames(): Promise<string[]> {
    const p = clustersPrefix(this.prefix);
    let keys: string[];
    try {
      keys = await this.client.getAll().prefix(p).keys();
    } catch (err) {
      throw wrapError('listing clusters', err);
    }
    const names = new Set<string>();
    for (const key of keys) {
      const rest = key.slice(p.length);
      const m = /^([^/]+)\/(spec|last-good)$/.exec(rest);
      if (m?.[1]) names.add(m[1]);
    }
    return [...names].sort();
  }

  async apply(doc: unknown, opts: { expectedRevision?: string } = {}): Promise<{ result: ApplyResult; cluster: SwarmCluster }> {
    const incoming = assertValidCluster(doc);
    const name = incoming.metadata.name;
    const raw = await this.readRaw(name);
    const expected = opts.expectedRevision ?? incoming.metadata.resourceVersion;
    if (expected !== undefined && expected !== raw.specRevision) {
      throw conflict(name, expected, raw.specRevision);
    }
    const current = inForce(raw);
    const specDoc = raw.specText === undefined ? undefined : tryParse(raw.specText);
    const next = composeStored(incoming, current, this.now);
    const sameAsInForce = current !== undefined && sameContent(current, next);
    const specKeyInSync = specDoc !== undefined && validateCluster(specDoc).ok && sameContent(specDoc as SwarmCluster, next);
    if (sameAsInForce && specKeyInSync) {
      return { result: 'unchanged', cluster: withRevision(current, raw.specRevision) };
    }
    const k = this.keys(name);
    const text = JSON.stringify(next);
    // The controller reads stored documents under these limits; a valid spec fits them,
    // except one whose unit contents add up to more than the stored size.
    const over = checkTextLimits(text, STORED_SPEC_LIMITS);
    if (over !== undefined) throw new SwarmkeeperError('SpecInvalid', `SwarmCluster "${name}" as stored ${over}`);
    let res;
    try {
      res = await this.client
        .if(k.spec, 'Mod', '==', raw.specRevision)
        .and(k.lastGood, 'Mod', '==', raw.lastGoodRevision)
        .then(this.client.put(k.spec).value(text), this.client.put(k.lastGood).value(text))
        .commit();
    } catch (err) {
      throw wrapError(`writing cluster ${name}`, err);
    }
    if (!res.succeeded) throw conflict(name, raw.specRevision, 'a newer one');
    const revision = res.header.revision;
    return {
      result: raw.specText === undefined && raw.lastGoodText === undefined ? 'created' : 'configured',
      cluster: withRevision(next, revision),
    };
  }

  /**
   * Asks for the cascading deletion of a cluster: writes its deletion key once (a repeat
   * keeps the first time). The controller then takes every node down and removes the
   * keys. Returns the deletionTimestamp, or undefined when the cluster does not exist.
   */
  async requestDeletion(name: string): Promise<string | undefined> {
    const k = this.keys(name);
    const at = new Date(this.now()).toISOString();
    try {
      const before = await this.readRaw(name);
      if (before.specText === undefined && before.lastGoodText === undefined) return undefined;
      const res = await this.client
        .if(k.deletion, 'Create', '==', 0)
        .then(this.client.put(k.deletion).value(JSON.stringify({ deletionTimestamp: at })))
        .commit();
      if (res.succeeded) return at;
      return (await this.get(name))?.cluster.metadata.deletionTimestamp ?? at;
    } catch (err) {
      throw wrapError(`asking for the deletion of cluster ${name}`, err);
    }
  }

  /** Removes every key of the cluster at once, leaving its nodes alone (`delete --cascade=orphan`). */
  async delete(name: string): Promise<boolean> {
    const base = this.keys(name).base;
    try {
      const before = await this.readRaw(name);
      if (before.specText === undefined && before.lastGoodText === undefined) return false;
      await this.client.delete().prefix(base);
      return true;
    } catch (err) {
      throw wrapError(`deleting cluster ${name}`, err);
    }
  }

  async writeStatus(name: string, status: SwarmClusterStatus, fence?: LeaderFence): Promise<void> {
    const key = this.keys(name).status;
    const put = this.client.put(key).value(JSON.stringify(status));
    try {
      if (!fence) {
        await put;
        return;
      }
      const res = await this.client.if(fence.key, 'Create', '==', fence.createRevision).then(put).commit();
      if (!res.succeeded) {
        throw new SwarmkeeperError('Conflict', `writing status of ${name}: leadership lost (the election key moved), write refused`, {
          details: { fenceKey: fence.key },
        });
      }
    } catch (err) {
      if (err instanceof SwarmkeeperError) throw err;
      throw wrapError(`writing status of ${name}`, err);
    }
  }

  /**
   * Replaces last-good with `next` only if neither the spec key nor last-good moved
   * since `raw` was read (used by spec-intake.ts). False when someone raced us.
   */
  async promote(raw: RawCluster, next: SwarmCluster): Promise<boolean> {
    const k = this.keys(raw.name);
    try {
      const res = await this.client
        .if(k.spec, 'Mod', '==', raw.specRevision)
        .and(k.lastGood, 'Mod', '==', raw.lastGoodRevision)
        .then(this.client.put(k.lastGood).value(JSON.stringify(next)))
        .commit();
      return res.succeeded;
    } catch (err) {
      throw wrapError(`promoting the spec of ${raw.name}`, err);
    }
  }

  async watch(onEvent: (e: ClusterWatchEvent) => void): Promise<Watcher> {
    return watchClusterSpecs(this.client, this.prefix, onEvent, this.logger);
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.close();
  }
}
