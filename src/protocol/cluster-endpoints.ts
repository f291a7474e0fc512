// The two records the node join protocol (src/node/agent-decide.ts) keeps in the management etcd besides
// the init claim, and their codecs. Both the node agent and the controller read and write
// them, so their shape is defined once, here.
//
// - keys.endpoints: where the cluster's etcd members and swarm managers are. The first
//   manager's agent writes it once it has initialised both; from then on the controller
//   rewrites it (step cluster.publishEndpoints) whenever the manager set changes, and
//   every worker's agent points its etcd gateway at etcdClientURLs.
// - `${keys.secrets}swarm-tokens`: the swarm join tokens. Secret: never logged, never in
//   an error message; protect keys.secrets with an etcd role in production.
// - keys.initClaim: which instance initialises the cluster (create-if-absent).

/** Name of the join-token record under keys.secrets. */
export const SWARM_TOKENS_SECRET = 'swarm-tokens';

export interface ClusterEndpoints {
  /** The managers' etcd client URLs (http://<address>:2379). */
  readonly etcdClientURLs: readonly string[];
  /** The managers' swarm addresses (<address>:2377), for `swarm join`. */
  readonly swarmManagers: readonly string[];
  /** ISO time of the write, for people reading the key. */
  readonly updatedAt?: string;
}

export interface SwarmTokensRecord {
  readonly worker: string;
  readonly manager: string;
}

export interface InitClaim {
  readonly instanceId: string;
  readonly address: string;
  readonly claimedAt: string;
}

export function swarmTokensKey(secretsPrefix: string): string {
  return `${secretsPrefix}${SWARM_TOKENS_SECRET}`;
}

export function encodeEndpoints(e: ClusterEndpoints): string {
  return JSON.stringify({ etcdClientURLs: [...e.etcdClientURLs], swarmManagers: [...e.swarmManagers], updatedAt: e.updatedAt });
}

/** Parses keys.endpoints; throws with the key name when the value is not the expected shape. */
export function parseEndpoints(text: string, key = 'endpoints'): ClusterEndpoints {
  const v = parseObject(text, key);
  const etcd = stringArray(v.etcdClientURLs, `${key}.etcdClientURLs`);
  const swarm = stringArray(v.swarmManagers, `${key}.swarmManagers`);
  return { etcdClientURLs: etcd, swarmManagers: swarm, ...(typeof v.updatedAt === 'string' ? { updatedAt: v.updatedAt } : {}) };
}

export function encodeTokens(t: SwarmTokensRecord): string {
  return JSON.stringify({ worker: t.worker, manager: t.manager });
}

/** Parses the swarm-tokens secret. The error never quotes the value (it is a secret). */
export function parseTokens(text: string, key = 'swarm-tokens'): SwarmTokensRecord {
  const v = parseObject(text, key);
  if (typeof v.worker !== 'string' || typeof v.manager !== 'string' || !v.worker || !v.manager) {
    throw new Error(`${key}: expected {worker, manager} join tokens`);
  }
  return { worker: v.worker, manager: v.manager };
}

export function encodeClaim(c: InitClaim): string {
  return JSON.stringify(c);
}

export function parseClaim(text: string, key = 'init-claim'): InitClaim {
  const v = parseObject(text, key);
  if (typeof v.instanceId !== 'string' || typeof v.address !== 'string') {
    throw new Error(`${key}: expected {instanceId, address, claimedAt}`);
  }
  return { instanceId: v.instanceId, address: v.address, claimedAt: typeof v.claimedAt === 'string' ? v.claimedAt : '' };
}

/** Endpoints for a manager set, in a stable order so equal sets encode equally. */
export function endpointsOf(managerAddresses: readonly string[], updatedAt?: string): ClusterEndpoints {
  const sorted = [...new Set(managerAddresses)].sort();
  return {
    etcdClientURLs: sorted.map((a) => `http://${a}:2379`),
    swarmManagers: sorted.map((a) => `${a}:2377`),
    ...(updatedAt ? { updatedAt } : {}),
  };
}

/** Whether two endpoint records point at the same members (updatedAt ignored). */
export function sameEndpoints(a: ClusterEndpoints | undefined, b: ClusterEndpoints | undefined): boolean {
  if (!a || !b) return a === b;
  const key = (e: ClusterEndpoints): string => JSON.stringify([[...e.etcdClientURLs].sort(), [...e.swarmManagers].sort()]);
  return key(a) === key(b);
}

function parseObject(text: string, key: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error(`${key}: not JSON`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${key}: expected a JSON object`);
  return v as Record<string, unknown>;
}

function stringArray(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`${field}: expected an array of strings`);
  return v as string[];
}
