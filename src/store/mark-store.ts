// MarkStore on the management etcd. Layout (src/store/keys.ts):
//   <marks><instance id>/<source>   JSON HealthMark
//   <controls><instance id>         JSON NodeControl
// Expiry is enforced twice: listMarks() drops marks whose expiresAt has passed (exact,
// by the caller's clock), and a mark with expiresAt is written on an etcd lease of the
// same lifetime so etcd deletes it even when nobody lists again (no garbage left behind).
//
// putMark() is a compare-and-swap on the key's mod revision, so two writers (webhook
// and detector on different replicas) cannot lose the earliest `since`.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Etcd3 } from 'etcd3';
import { SwarmkeeperError, wrapError } from '../errors.ts';
import { INSTANCE_ID, type HealthMark, type HealthMarkSource, type NodeControl } from '../model/snapshot.ts';
import { clusterKeys } from './keys.ts';
import type { MarkStore } from './mark-port.ts';

const SOURCES: ReadonlySet<string> = new Set<HealthMarkSource>([
  'alert',
  'detector:swarm',
  'detector:etcd',
  'detector:startup',
  'detector:ec2',
  'operator',
]);
const CAS_ATTEMPTS = 20;
/**
 * Most marks one cluster may hold. Marks name live instances, so a real cluster stays far
 * below; the bound keeps a misbehaving sender from filling the management etcd.
 */
export const MAX_MARKS_PER_CLUSTER = 1024;
const REFRESH_STEP_MS = 60_000;

export interface EtcdMarkStoreOptions {
  readonly prefix: string;
  /** Wall clock used to size leases; tests may pin it. */
  readonly clock?: () => number;
}

export class EtcdMarkStore implements MarkStore {
  private readonly client: Etcd3;
  private readonly prefix: string;
  private readonly clock: () => number;

  constructor(client: Etcd3, opts: EtcdMarkStoreOptions) {
    this.client = client;
    this.prefix = opts.prefix;
    this.clock = opts.clock ?? Date.now;
  }

  async listMarks(cluster: string, now: number): Promise<HealthMark[]> {
    const prefix = clusterKeys(this.prefix, cluster).marks;
    let kvs: Record<string, string>;
    try {
      kvs = await this.client.getAll().prefix(prefix).strings();
    } catch (err) {
      throw wrapError(`listing health marks of cluster ${cluster}`, err);
    }
    const marks: HealthMark[] = [];
    for (const [key, value] of Object.entries(kvs)) {
      const mark = parseMark(value);
      // A value someone wrote by hand that is not a mark is skipped, not fatal: one bad
      // key must not blind the controller to every other mark.
      if (!mark || (mark.expiresAt !== undefined && mark.expiresAt <= now)) continue;
      if (key !== `${prefix}${mark.instanceId}/${mark.source}`) continue;
      marks.push(mark);
    }
    return marks.sort((a, b) => a.instanceId.localeCompare(b.instanceId) || a.source.localeCompare(b.source));
  }

  async putMark(cluster: string, mark: HealthMark): Promise<void> {
    checkMark(mark);
    const key = this.markKey(cluster, mark.instanceId, mark.source);
    // One lease per mark: granted once for all attempts, revoked when unused, and the
    // key's previous lease reused when it lives long enough, else revoked once replaced.
    let lease: string | undefined;
    let used = false;
    try {
      for (let attempt = 1; attempt <= CAS_ATTEMPTS; attempt++) {
        const res = await this.client.get(key).exec();
        const kv = res.kvs[0];
        const previous = kv ? parseMark(kv.value.toString()) : undefined;
        if (previous && covers(previous, mark)) return;
        if (!kv) await this.checkRoom(cluster);
        const merged: HealthMark = previous ? { ...mark, since: Math.min(previous.since, mark.since) } : mark;
        const put = this.client.put(key).value(JSON.stringify(merged));
        const oldLease = kv && kv.lease !== '0' ? kv.lease : undefined;
        const reuse =
          oldLease !== undefined &&
          merged.expiresAt !== undefined &&
          previous?.expiresAt !== undefined &&
          previous.expiresAt >= merged.expiresAt;
        if (merged.expiresAt !== undefined) {
          if (reuse) put.lease(oldLease);
          else put.lease((lease ??= await this.grant(merged.expiresAt)));
        }
        const txn = kv ? this.client.if(key, 'Mod', '==', kv.mod_revision) : this.client.if(key, 'Create', '==', 0);
        const out = await txn.then(put).commit();
        if (out.succeeded) {
          used = merged.expiresAt !== undefined && !reuse;
          if (oldLease !== undefined && !reuse) await this.revoke(oldLease);
          return;
        }
        // Lost a race with another writer: back off a little, with jitter, and re-read.
        await sleep(Math.random() * 20 * attempt);
      }
    } catch (err) {
      throw wrapError(`writing health mark ${mark.source} of instance ${mark.instanceId}`, err);
    } finally {
      if (lease !== undefined && !used) await this.revoke(lease);
    }
    throw new SwarmkeeperError('Conflict', `writing health mark ${mark.source} of instance ${mark.instanceId}: the key kept changing`);
  }

  private async grant(expiresAt: number): Promise<string> {
    return this.client.lease(Math.max(1, Math.ceil((expiresAt - this.clock()) / 1000)), { autoKeepAlive: false }).grant();
  }

  /** Revokes a lease no key needs any more; a lease already gone is fine. */
  private async revoke(lease: string): Promise<void> {
    await this.client.leaseClient.leaseRevoke({ ID: lease }).catch(() => undefined);
  }

  private async checkRoom(cluster: string): Promise<void> {
    const count = await this.client.getAll().prefix(clusterKeys(this.prefix, cluster).marks).count();
    if (count >= MAX_MARKS_PER_CLUSTER) {
      throw new SwarmkeeperError(
        'Capacity',
        `cluster ${cluster} holds ${count} health marks, the most allowed (${MAX_MARKS_PER_CLUSTER}); no new mark is written until some clear or expire`,
      );
    }
  }

  async clearMark(cluster: string, instanceId: string, source: HealthMarkSource): Promise<void> {
    try {
      await this.client
        .delete()
        .key(this.markKey(cluster, instanceId, source))
        .exec();
    } catch (err) {
      throw wrapError(`clearing health mark ${source} of instance ${instanceId}`, err);
    }
  }

  async listControls(cluster: string): Promise<NodeControl[]> {
    const prefix = clusterKeys(this.prefix, cluster).controls;
    try {
      const kvs = await this.client.getAll().prefix(prefix).strings();
      return Object.values(kvs)
        .map(parseControl)
        .filter((c): c is NodeControl => c !== undefined)
        .sort((a, b) => a.instanceId.localeCompare(b.instanceId));
    } catch (err) {
      throw wrapError(`listing node controls of cluster ${cluster}`, err);
    }
  }

  async putControl(cluster: string, control: NodeControl): Promise<void> {
    checkInstanceId(control.instanceId);
    try {
      await this.client
        .put(`${clusterKeys(this.prefix, cluster).controls}${control.instanceId}`)
        .value(JSON.stringify(control))
        .exec();
    } catch (err) {
      throw wrapError(`writing node control of instance ${control.instanceId}`, err);
    }
  }

  private markKey(cluster: string, instanceId: string, source: HealthMarkSource): string {
    checkInstanceId(instanceId);
    return `${clusterKeys(this.prefix, cluster).marks}${instanceId}/${source}`;
  }
}

/**
 * Whether the stored mark already says what `next` says, so writing it would only churn
 * etcd: a flood of repeated alerts then costs one read each, not a write and a lease.
 * A refresh that moves the expiry by a minute or more is written.
 */
function covers(previous: HealthMark, next: HealthMark): boolean {
  if (previous.since > next.since || previous.reason !== next.reason) return false;
  if (next.expiresAt === undefined) return previous.expiresAt === undefined;
  return previous.expiresAt !== undefined && previous.expiresAt >= next.expiresAt - REFRESH_STEP_MS;
}

function checkMark(mark: HealthMark): void {
  checkInstanceId(mark.instanceId);
  if (!SOURCES.has(mark.source))
    throw new SwarmkeeperError('Internal', `health mark source "${mark.source}" is not one of ${[...SOURCES].join(', ')}`);
  if (!Number.isFinite(mark.since))
    throw new SwarmkeeperError('Internal', `health mark of instance ${mark.instanceId} has no valid since time`);
}

/** Instance ids become key segments: no slashes, nothing empty. */
function checkInstanceId(id: string): void {
  if (!INSTANCE_ID.test(id)) {
    throw new SwarmkeeperError(
      'Internal',
      `instance id ${JSON.stringify(id.slice(0, 64))} cannot be a key segment (letters, digits, . _ : - only)`,
    );
  }
}

function parseMark(text: string): HealthMark | undefined {
  const v = parseObject(text);
  if (!v || typeof v.instanceId !== 'string' || typeof v.source !== 'string' || !SOURCES.has(v.source)) return undefined;
  if (typeof v.since !== 'number' || typeof v.reason !== 'string') return undefined;
  if (v.expiresAt !== undefined && typeof v.expiresAt !== 'number') return undefined;
  return v as unknown as HealthMark;
}

function parseControl(text: string): NodeControl | undefined {
  const v = parseObject(text);
  return v && typeof v.instanceId === 'string' ? (v as unknown as NodeControl) : undefined;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
