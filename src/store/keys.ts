// The management etcd key layout, in one place. Everything swarmkeeper keeps about a
// cluster lives under `<prefix>/clusters/<name>/`, so deleting a cluster is one range
// delete and a prefix watch sees every change.

export interface ClusterKeys {
  /** The directory every key of the cluster lives under (ends with a slash). */
  readonly base: string;
  /** The user's document as written (may be invalid when put by etcdctl). */
  readonly spec: string;
  /** The last spec that validated: what the controller acts on. */
  readonly lastGood: string;
  /** Written by the controller only. */
  readonly status: string;
  /** Operations journal: `<journal><operation id>` (rule 13). */
  readonly journal: string;
  /** Health marks: `<marks><instance id>/<source>`. */
  readonly marks: string;
  /** Operator controls per node: `<controls><instance id>`. */
  readonly controls: string;
  /** Swarm join tokens and other secrets: protect this prefix with etcd auth roles. */
  readonly secrets: string;
  /** The managers' etcd client URLs and swarm addresses, for nodes' agents and gateways. */
  readonly endpoints: string;
  /** One-time bootstrap tokens (hashed): `<bootstrapTokens><token id>`. */
  readonly bootstrapTokens: string;
  /** Claimed with a create-if-absent transaction by the node that initialises the cluster. */
  readonly initClaim: string;
  /** The controller's backup record: the newest backup and the last failure (src/backup/backup-record.ts). */
  readonly backup: string;
  /** Written by `swarmkeeper delete`: deletion was asked for (the cluster's metadata.deletionTimestamp). */
  readonly deletion: string;
  /** `swarmkeeper recover`'s order and the etcd snapshot the new founder restores (src/protocol/recovery-order.ts). */
  readonly recovery: string;
}

export function clustersPrefix(prefix: string): string {
  return `${trimSlash(prefix)}/clusters/`;
}

export function clusterKeys(prefix: string, name: string): ClusterKeys {
  const base = `${clustersPrefix(prefix)}${name}/`;
  return {
    base,
    spec: `${base}spec`,
    lastGood: `${base}last-good`,
    status: `${base}status`,
    journal: `${base}journal/`,
    marks: `${base}marks/`,
    controls: `${base}controls/`,
    secrets: `${base}secrets/`,
    endpoints: `${base}endpoints`,
    bootstrapTokens: `${base}bootstrap-tokens/`,
    initClaim: `${base}init-claim`,
    backup: `${base}backup`,
    deletion: `${base}deletion`,
    recovery: `${base}recovery/`,
  };
}

/** Leader election key for the controller replicas (one leader for all clusters). */
export function electionPrefix(prefix: string): string {
  return `${trimSlash(prefix)}/election`;
}

/** The cluster name in a key under clustersPrefix(), or undefined. */
export function clusterNameOfKey(prefix: string, key: string): string | undefined {
  const p = clustersPrefix(prefix);
  if (!key.startsWith(p)) return undefined;
  const rest = key.slice(p.length);
  const slash = rest.indexOf('/');
  return slash > 0 ? rest.slice(0, slash) : undefined;
}

function trimSlash(prefix: string): string {
  return prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
}
