// A saved Snapshot (JSON), as `swarmkeeper plan --snapshot FILE` and the scenario files
// read it: checked for the shape the planner relies on, with errors naming the field.
import type { Snapshot } from '../model/snapshot.ts';
import { SwarmkeeperError } from '../errors.ts';

export function parseSnapshot(value: unknown, source: string): Snapshot {
  const fail = (path: string, what: string): never => {
    throw new SwarmkeeperError('SpecInvalid', `${source}: ${path}: ${what}`, { details: { field: path } });
  };
  if (!isObject(value)) return fail('(root)', 'expected a JSON object (a Snapshot)');
  if (typeof value.observedAt !== 'number') fail('observedAt', 'expected milliseconds since the epoch');
  for (const key of ['instances', 'swarm', 'etcd'] as const) {
    const src = value[key];
    if (!isObject(src)) return fail(key, "expected { status: 'ok', value } or { status: 'unavailable', error }");
    if (src.status === 'ok') {
      if (!('value' in src)) fail(`${key}.value`, 'missing');
    } else if (src.status === 'unavailable') {
      if (typeof src.error !== 'string') fail(`${key}.error`, 'expected a string');
    } else fail(`${key}.status`, "expected 'ok' or 'unavailable'");
  }
  const ok = (k: 'instances' | 'swarm' | 'etcd'): unknown => (value[k] as Record<string, unknown>).value;
  if (value.instances && (value.instances as Record<string, unknown>).status === 'ok' && !Array.isArray(ok('instances')))
    fail('instances.value', 'expected an array of instances');
  if (
    (value.swarm as Record<string, unknown>).status === 'ok' &&
    !Array.isArray((ok('swarm') as Record<string, unknown> | undefined)?.nodes)
  )
    fail('swarm.value.nodes', 'expected an array');
  if (
    (value.etcd as Record<string, unknown>).status === 'ok' &&
    !Array.isArray((ok('etcd') as Record<string, unknown> | undefined)?.members)
  )
    fail('etcd.value.members', 'expected an array');
  for (const key of ['marks', 'operations', 'controls'] as const) {
    if (value[key] !== undefined && !Array.isArray(value[key])) fail(key, 'expected an array');
  }
  const etcd = value.etcd as Record<string, unknown>;
  const etcdValue = etcd.status === 'ok' ? { alarms: [], ...(etcd.value as object) } : undefined;
  return {
    ...(value as unknown as Snapshot),
    ...(etcdValue ? { etcd: { status: 'ok', value: etcdValue as never } } : {}),
    marks: (value.marks as Snapshot['marks']) ?? [],
    operations: (value.operations as Snapshot['operations']) ?? [],
    controls: (value.controls as Snapshot['controls']) ?? [],
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
