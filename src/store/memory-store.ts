// ClusterStore in memory, on a MemoryFencedKv and with the same key layout and document
// rules as EtcdClusterStore (stored-doc.ts): apply validates first and writes spec and
// last-good together, the generation moves only when the spec changes, writeStatus is
// fenced by leadership. For the simulator; the contract suite holds both to one behaviour.
import { assertValidCluster, validateCluster } from '../spec/validate.ts';
import type { SwarmCluster, SwarmClusterStatus } from '../spec/schema.ts';
import { clusterKeys, clustersPrefix } from './keys.ts';
import type { MemoryFencedKv } from './memory-kv.ts';
import type { ApplyResult, ClusterStore, ClusterWatchEvent, LeaderFence, StoredCluster, Watcher } from './port.ts';
import { composeStored, conflict, inForce, interpret, sameContent, tryParse, withRevision, type RawCluster } from './stored-doc.ts';

export class MemoryClusterStore implements ClusterStore {
  private readonly listeners = new Set<(e: ClusterWatchEvent) => void>();

  constructor(
    readonly kv: MemoryFencedKv,
    readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {}

  async get(name: string): Promise<StoredCluster | undefined> {
    return interpret(await this.readRaw(name));
  }

  async list(): Promise<StoredCluster[]> {
    const names = new Set<string>();
    for (const [key] of await this.kv.getPrefix(clustersPrefix(this.prefix))) {
      const m = /^([^/]+)\/(spec|last-good)$/.exec(key.slice(clustersPrefix(this.prefix).length));
      if (m?.[1]) names.add(m[1]);
    }
    const out: StoredCluster[] = [];
    for (const name of [...names].sort()) {
      const c = await this.get(name);
      if (c) out.push(c);
    }
    return out;
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
    const specKeyInSync = specDoc !== undefined && validateCluster(specDoc).ok && sameContent(specDoc as SwarmCluster, next);
    if (current !== undefined && sameContent(current, next) && specKeyInSync)
      return { result: 'unchanged', cluster: withRevision(current, raw.specRevision) };
    const k = clusterKeys(this.prefix, name);
    const text = JSON.stringify(next);
    await this.kv.write(
      [
        { kind: 'put', key: k.spec, value: text },
        { kind: 'put', key: k.lastGood, value: text },
      ],
      undefined,
      `writing cluster ${name}`,
    );
    this.notify({ name, type: 'put' });
    const created = raw.specText === undefined && raw.lastGoodText === undefined;
    return { result: created ? 'created' : 'configured', cluster: withRevision(next, this.kv.modRevision(k.spec)) };
  }

  async delete(name: string): Promise<boolean> {
    const base = clusterKeys(this.prefix, name).spec.slice(0, -'spec'.length);
    const keys = (await this.kv.getPrefix(base)).map(([k]) => k);
    const raw = await this.readRaw(name);
    if (raw.specText === undefined && raw.lastGoodText === undefined) return false;
    await this.kv.write(
      keys.map((key) => ({ kind: 'delete' as const, key })),
      undefined,
      `deleting cluster ${name}`,
    );
    this.notify({ name, type: 'delete' });
    return true;
  }

  async writeStatus(name: string, status: SwarmClusterStatus, fence?: LeaderFence): Promise<void> {
    await this.kv.write(
      [{ kind: 'put', key: clusterKeys(this.prefix, name).status, value: JSON.stringify(status) }],
      fence,
      `writing status of ${name}`,
    );
  }

  async watch(onEvent: (e: ClusterWatchEvent) => void): Promise<Watcher> {
    this.listeners.add(onEvent);
    return { close: async () => void this.listeners.delete(onEvent) };
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }

  private async readRaw(name: string): Promise<RawCluster> {
    const k = clusterKeys(this.prefix, name);
    const [spec, lastGood, status] = await Promise.all([this.kv.get(k.spec), this.kv.get(k.lastGood), this.kv.get(k.status)]);
    return {
      name,
      ...(spec === undefined ? {} : { specText: spec }),
      specRevision: this.kv.modRevision(k.spec),
      ...(lastGood === undefined ? {} : { lastGoodText: lastGood }),
      lastGoodRevision: this.kv.modRevision(k.lastGood),
      ...(status === undefined ? {} : { statusText: status }),
    };
  }

  private notify(e: ClusterWatchEvent): void {
    for (const l of this.listeners) l(e);
  }
}
