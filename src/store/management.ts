// The management etcd as the controller uses it: narrow ports over one client — the
// spec and status store, the health marks, fenced writes (journal, published records)
// and the leader election. The wiring opens it once; nothing outside src/store/ sees
// the etcd client itself.
import type { Etcd3 } from 'etcd3';
import { LeaderElection, type LeaderElectionOptions } from './election.ts';
import { EtcdClusterStore } from './etcd-store.ts';
import { etcdFencedKv, type FencedKv } from './fenced-kv.ts';
import { EtcdMarkStore } from './mark-store.ts';

/** What the loop needs besides the spec and mark stores. */
export interface ManagementLink {
  /** Writes fenced by the leader key (journal, published endpoints, backup records). */
  readonly kv: FencedKv;
  election(opts: LeaderElectionOptions): LeaderElection;
}

export interface Management extends ManagementLink {
  readonly prefix: string;
  readonly specs: EtcdClusterStore;
  readonly marks: EtcdMarkStore;
}

/** `clock`: the marks' notion of now (the simulator's virtual time; default the wall clock). The caller owns (closes) the client. */
export function etcdManagement(client: Etcd3, prefix: string, clock?: () => number): Management {
  return {
    prefix,
    specs: new EtcdClusterStore(client, { prefix, ownsClient: false }),
    marks: new EtcdMarkStore(client, { prefix, ...(clock ? { clock } : {}) }),
    ...etcdManagementLink(client),
  };
}

export function etcdManagementLink(client: Etcd3): ManagementLink {
  return { kv: etcdFencedKv(client), election: (opts) => new LeaderElection(client, opts) };
}
