// FencedKv in memory, with etcd's semantics where the contract needs them: one revision
// counter, each key's create revision, atomic multi-op writes, and a fence that holds
// only while its key exists at the create revision it names. Leadership is taken with
// elect() (the key of a campaign) and lost with depose(); a deposed leader's writes fail
// with Conflict exactly as against etcd. For the simulator and the property histories.
import { SwarmkeeperError } from '../errors.ts';
import type { FencedKv, FencedOp, WriteGuard } from './fenced-kv.ts';
import type { LeaderFence } from './port.ts';

interface Entry {
  readonly value: string;
  readonly createRevision: number;
  readonly modRevision: number;
}

export class MemoryFencedKv implements FencedKv {
  private readonly data = new Map<string, Entry>();
  private revision = 0;

  async get(key: string): Promise<string | undefined> {
    return this.data.get(key)?.value;
  }

  async getPrefix(prefix: string): Promise<Array<readonly [string, string]>> {
    return this.scan(prefix);
  }

  /** getPrefix() without waiting: for a simulator checking invariants between two calls. */
  scan(prefix: string): Array<readonly [string, string]> {
    const out: Array<readonly [string, string]> = [];
    for (const [k, e] of this.data) if (k.startsWith(prefix)) out.push([k, e.value]);
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  async write(ops: readonly FencedOp[], fence: LeaderFence | undefined, context: string, guard?: WriteGuard): Promise<void> {
    if (ops.length === 0) return;
    // etcd refuses a transaction that names a key twice ("duplicate key given in txn request").
    if (new Set(ops.map((op) => op.key)).size !== ops.length)
      throw new SwarmkeeperError('Conflict', `${context}: a key is named twice in one write`);
    if (fence && !this.holds(fence)) {
      throw new SwarmkeeperError('Conflict', `${context}: leadership lost (the election key moved), write refused`, {
        details: { fenceKey: fence.key },
      });
    }
    if (guard && this.data.get(guard.key)?.value !== guard.value) {
      throw new SwarmkeeperError('Conflict', `${context}: ${guard.key} changed meanwhile, write refused`, {
        details: { guardKey: guard.key },
      });
    }
    this.revision += 1;
    for (const op of ops) {
      if (op.kind === 'delete') this.data.delete(op.key);
      else if (op.kind === 'deletePrefix') {
        for (const k of [...this.data.keys()]) if (k.startsWith(op.key)) this.data.delete(k);
      } else
        this.data.set(op.key, {
          value: op.value,
          createRevision: this.data.get(op.key)?.createRevision ?? this.revision,
          modRevision: this.revision,
        });
    }
  }

  /** Takes leadership under `key` (a new create revision each time) and returns its fence. */
  elect(key: string, identity: string): LeaderFence {
    this.revision += 1;
    this.data.set(key, { value: identity, createRevision: this.revision, modRevision: this.revision });
    return { key, createRevision: String(this.revision) };
  }

  /** The leader's key goes away (its lease expired): every write fenced by it now fails. */
  depose(fence: LeaderFence): void {
    if (this.holds(fence)) {
      this.revision += 1;
      this.data.delete(fence.key);
    }
  }

  /** The revision of the last write to `key` ('0' when absent), like etcd's mod_revision. */
  modRevision(key: string): string {
    return String(this.data.get(key)?.modRevision ?? 0);
  }

  holds(fence: LeaderFence): boolean {
    return String(this.data.get(fence.key)?.createRevision ?? '') === fence.createRevision;
  }
}
