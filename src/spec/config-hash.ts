// The node config hash: what an instance was launched from. When it differs from the
// hash the current spec yields for the instance's role, the instance is outdated and a
// rolling replacement picks it up. Pure (no node:crypto) so the planner may call it.
import type { ResolvedSpec } from './defaults.ts';
import type { Role } from './schema.ts';

/** The parts of the spec that end up on a node of `role`; nothing else may change the hash. */
export function nodeConfigOf(spec: ResolvedSpec, role: Role): unknown {
  const r = role === 'manager' ? spec.managers : spec.workers;
  const ec2 = spec.provider.ec2;
  return {
    role,
    instanceType: r.instanceType,
    units: r.units,
    image: ec2?.imageId ?? null,
    securityGroupIds: ec2?.securityGroupIds ?? null,
    iamInstanceProfile: ec2?.iamInstanceProfile ?? null,
    keyName: ec2?.keyName ?? null,
  };
}

export function nodeConfigHash(spec: ResolvedSpec, role: Role): string {
  return fnv1a64Hex(canonicalJson(nodeConfigOf(spec, role)));
}

/** JSON with object keys sorted at every level, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** FNV-1a, 64 bit, as 16 hex digits. Not cryptographic: it only detects change. */
export function fnv1a64Hex(text: string): string {
  let hash = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  const mask = 0xffffffffffffffffn;
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * prime) & mask;
  }
  return hash.toString(16).padStart(16, '0');
}
