// What `swarmkeeper wait --for=...` (and `apply --wait`, `delete --wait`) waits for, the
// way kubectl says it: `condition=Ready`, `condition=Degraded=False`, `delete`. A
// condition counts only once the controller has observed the current generation
// (status.observedGeneration >= metadata.generation): right after an apply, the Ready
// of the generation before must not end the wait. Durations are kubectl's (30s, 5m, 1h30m).
import { SwarmkeeperError } from '../errors.ts';
import { getCondition } from '../spec/conditions.ts';
import type { ConditionType } from '../spec/schema.ts';
import type { StoredCluster } from '../store/port.ts';

export type WaitFor =
  { readonly kind: 'delete' } | { readonly kind: 'condition'; readonly type: ConditionType; readonly status: 'True' | 'False' | 'Unknown' };

const TYPES: readonly ConditionType[] = ['Ready', 'Progressing', 'Degraded', 'SpecValid'];

export function parseWaitFor(text: string): WaitFor {
  if (text === 'delete') return { kind: 'delete' };
  const m = /^condition=([A-Za-z]+)(?:=(true|false|unknown))?$/i.exec(text);
  const type = TYPES.find((t) => t.toLowerCase() === m?.[1]?.toLowerCase());
  if (!m || !type) {
    throw new SwarmkeeperError('Usage', `--for=${text}: expected delete or condition=<${TYPES.join('|')}>[=true|false|unknown]`);
  }
  const status = (m[2] ?? 'true').toLowerCase();
  return { kind: 'condition', type, status: status === 'true' ? 'True' : status === 'false' ? 'False' : 'Unknown' };
}

/** Whether the cluster as read now (undefined: its keys are gone) meets `want`. */
export function isMet(want: WaitFor, cluster: StoredCluster | undefined): boolean {
  if (want.kind === 'delete') return cluster === undefined;
  if (!cluster?.status) return false;
  const generation = cluster.cluster.metadata.generation ?? 0;
  if ((cluster.status.observedGeneration ?? -1) < generation) return false;
  return getCondition(cluster.status.conditions, want.type)?.status === want.status;
}

export function describeWaitFor(want: WaitFor): string {
  return want.kind === 'delete' ? 'deletion' : `condition ${want.type}=${want.status}`;
}

/** A kubectl duration (`30s`, `5m`, `1h30m`, `500ms`, `0` for no limit) in ms. */
export function parseDuration(text: string, flag: string): number {
  if (text === '0') return 0;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new SwarmkeeperError('Usage', `${flag} ${text}: expected a duration such as 30s, 5m or 1h30m`);
  }
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
  return parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2] as keyof typeof unit], 0);
}
