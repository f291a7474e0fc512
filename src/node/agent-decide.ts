// The node agent's decisions, as a pure function of what it observed (no I/O, no clock),
// so the join protocol (below) is unit-tested here and the agent's loop only
// gathers facts and carries out one action at a time (node-agent.ts).
//
// The protocol, per role:
// - Manager, first of the cluster: claim keys.initClaim (create-if-absent), start a new
//   single-member etcd, `swarm init`, store the join tokens, publish keys.endpoints.
// - Manager, later: wait until the controller has added this node's peer URL as an etcd
//   learner (the member list is read through the published endpoints, or before they
//   exist from the claimant's etcd), start etcd with --initial-cluster-state existing
//   (the initial cluster is the member list, this node named by its instance id); join
//   the swarm AS A WORKER with the worker token. The controller promotes it in both
//   rafts.
// - Worker: run an etcd gateway to the managers' client URLs, restarted when
//   keys.endpoints changes; join the swarm as a worker.
// - Any node that already joined (a reboot): etcd resumes from its data dir and the swarm
//   membership is kept; nothing is initialised or joined twice.
// - Recovery (`swarmkeeper recover`): while a recovery order is in its founding phase,
//   the manager that claims initialisation restores the order's etcd snapshot into a
//   fresh one-member data dir instead of starting an empty etcd; the rest is the first
//   manager's path (swarm init, tokens, endpoints).
//
// - While the node's dockerd has not answered yet (booting), a manager claims and starts
//   an etcd member that never ran here; nothing else happens before dockerd answers.
// - A manager whose bootstrap answer brought a new docker TLS certificate starts nothing
//   until dockerd has restarted to serve it (the node's path unit restarts dockerd, and
//   the agent's container with it): it resumes from the top when it comes back.
//
// Etcd actions come before swarm actions, except that a later manager waiting for its
// learner entry joins the swarm meanwhile (the two are independent; it saves seconds).
import type { EtcdMember } from '../model/snapshot.ts';
import { etcdClientUrl, etcdPeerUrl, urlHost } from '../model/snapshot.ts';
import type { Role } from '../spec/schema.ts';
import type { SwarmInfo } from '../swarm/port.ts';
import { endpointsOf, type ClusterEndpoints, type InitClaim } from '../protocol/cluster-endpoints.ts';

export interface AgentFacts {
  readonly role: Role;
  readonly instanceId: string;
  readonly address: string;
  /** Manager: the etcd data dir already holds a member (this node joined before). */
  readonly etcdDataPresent: boolean;
  /** This node's etcd process (member for managers, gateway for workers) runs. */
  readonly etcdRunning: boolean;
  /** Worker: the host:port endpoints the running gateway was started with. */
  readonly gatewayEndpoints?: readonly string[];
  /** keys.initClaim: absent (undefined), or 'unread' when the read failed. */
  readonly claim: InitClaim | undefined | 'unread';
  /** keys.endpoints, when present and readable. */
  readonly endpoints?: ClusterEndpoints;
  /** Whether the swarm-tokens secret exists (its value never enters the facts). */
  readonly tokensStored: boolean;
  /**
   * The local engine's swarm state; 'booting' while this node's dockerd has not answered
   * the agent yet (a failed call, or one still pending when the management etcd's reads
   * were in); 'unreachable' when a dockerd that answered before no longer does.
   */
  readonly swarmState: SwarmInfo['localNodeState'] | 'booting' | 'unreachable';
  /** Later manager: the cluster etcd's member list, or 'unavailable' when it could not be read. */
  readonly members?: readonly EtcdMember[] | 'unavailable';
  /** Manager: the backup a recovery order in its founding phase restores (keys.recovery). */
  readonly restoreFrom?: string;
  /**
   * This run wrote docker TLS files that dockerd does not serve yet: dockerd restarts any
   * moment now and stops this agent with everything it runs under it.
   */
  readonly dockerRestartAwaited?: boolean;
}

export type AgentAction =
  | { readonly kind: 'claimInit' }
  | { readonly kind: 'startEtcd'; readonly mode: 'new' | 'resume' }
  | { readonly kind: 'startEtcd'; readonly mode: 'existing'; readonly initialCluster: string }
  /** Founder of a recovered cluster: restore the recovery order's snapshot, then start etcd from it. */
  | { readonly kind: 'restoreEtcd'; readonly backup: string }
  | { readonly kind: 'swarmInit' }
  | { readonly kind: 'storeTokens' }
  | { readonly kind: 'publishEndpoints'; readonly endpoints: ClusterEndpoints }
  | { readonly kind: 'joinSwarm'; readonly remoteAddrs: readonly string[] }
  | { readonly kind: 'startGateway'; readonly endpoints: readonly string[] }
  /**
   * Nothing to do yet; look again at the agent's wait pace. With `learnerEntry`, what is
   * awaited is this node's entry in the cluster's member list: the agent asks for that
   * list alone, often, until the entry appears or the pace's time is up.
   */
  | { readonly kind: 'wait'; readonly reason: string; readonly learnerEntry?: LearnerEntryWait }
  /** Joined everywhere: supervise etcd/gateway and follow keys.endpoints. */
  | { readonly kind: 'steady' };

export type AgentActionKind = AgentAction['kind'];

/** Where a later manager looks for the learner entry the controller adds for it. */
export interface LearnerEntryWait {
  readonly clientUrls: readonly string[];
  readonly peerUrl: string;
}

type MemberListFacts = Pick<AgentFacts, 'role' | 'instanceId' | 'etcdDataPresent' | 'etcdRunning' | 'claim' | 'endpoints'>;

/** What this node should facts-wise gather: later managers need the member list. */
export function needsMemberList(f: MemberListFacts): boolean {
  if (f.role !== 'manager' || f.etcdRunning || !clusterClientUrls(f)) return false;
  // A member that stopped: was it removed from the cluster (do not bring it back)?
  if (f.etcdDataPresent) return true;
  return f.claim !== 'unread' && f.claim?.instanceId !== f.instanceId;
}

/**
 * Where a later manager reads the cluster's member list: the published endpoints, or,
 * before the founder has published them (it does once the swarm exists too), the
 * founder's own etcd at the claimant's address. A learner entry the controller added
 * while the founder still initialises the swarm is thus seen at once.
 */
export function clusterClientUrls(f: Pick<AgentFacts, 'instanceId' | 'claim' | 'endpoints'>): readonly string[] | undefined {
  if (f.endpoints) return f.endpoints.etcdClientURLs;
  if (typeof f.claim === 'object' && f.claim.instanceId !== f.instanceId && f.claim.address !== '') return [etcdClientUrl(f.claim.address)];
  return undefined;
}

export function decideAgentAction(f: AgentFacts): AgentAction {
  if (f.swarmState === 'unreachable') return wait("this node's dockerd does not answer");
  // An etcd member started now would die with dockerd a moment later: for a lone
  // founder that is the cluster's whole etcd, down until the agent comes back.
  if (f.dockerRestartAwaited) return wait('dockerd restarts to serve the TLS certificate just written; starting nothing before');
  const action = f.role === 'manager' ? decideManager(f) : decideWorker(f);
  if (f.swarmState === 'booting' && !isFirstEtcdStart(action)) return wait("this node's dockerd has not answered yet");
  return action;
}

/**
 * What a manager may do before its dockerd first answers: claim the cluster and start an
 * etcd member that has never run on this node (new, joining or restored). A node boots
 * its dockerd and its agent together, and on a busy machine dockerd takes a second or
 * more to answer; the founder's etcd is where every join starts, and a member that has
 * never run holds nothing the node could lose. A member with data (`resume`) waits for
 * dockerd, as does everything on the swarm side.
 */
function isFirstEtcdStart(a: AgentAction): boolean {
  return a.kind === 'claimInit' || a.kind === 'restoreEtcd' || (a.kind === 'startEtcd' && a.mode !== 'resume');
}

function decideManager(f: AgentFacts): AgentAction {
  if (f.claim === 'unread' && !f.etcdDataPresent) return wait('reading the init claim from the management etcd');
  if (!f.etcdRunning && f.etcdDataPresent) {
    // Removed from the cluster by the controller (scale-down, replacement): restarting
    // it would only see it exit again. When the list cannot be read (a lone manager
    // rebooting is its own endpoint), resume: that is the reboot case.
    if (Array.isArray(f.members) && !f.members.some((m) => m.peerURLs.includes(etcdPeerUrl(f.address)))) {
      return wait("this node's etcd member was removed from the cluster; not restarting it");
    }
    return { kind: 'startEtcd', mode: 'resume' };
  }
  // Published endpoints mean the cluster exists: never claim it again. An unpublished
  // claim lives on its claimant's lease, so a claimant that died frees it (and one that
  // restarted mid-initialisation claims again and carries on from its data).
  if (f.claim === undefined && !f.endpoints) return { kind: 'claimInit' };
  const initNode = typeof f.claim === 'object' && f.claim.instanceId === f.instanceId;
  let etcdBlocked: Extract<AgentAction, { kind: 'wait' }> | undefined;
  if (!f.etcdRunning) {
    if (initNode) return f.restoreFrom ? { kind: 'restoreEtcd', backup: f.restoreFrom } : { kind: 'startEtcd', mode: 'new' };
    const join = decideEtcdJoin(f);
    if (join.kind === 'startEtcd') return join;
    etcdBlocked = join;
  }
  if (initNode) {
    if (f.swarmState === 'inactive') return { kind: 'swarmInit' };
    if (f.swarmState !== 'active') return wait(`the swarm is ${f.swarmState} on this node`);
    if (!f.tokensStored) return { kind: 'storeTokens' };
    if (!f.endpoints) return { kind: 'publishEndpoints', endpoints: endpointsOf([f.address]) };
    return etcdBlocked ?? { kind: 'steady' };
  }
  const swarm = decideSwarmJoin(f);
  if (swarm.kind === 'joinSwarm') return swarm;
  return etcdBlocked ?? swarm;
}

type EtcdJoin = Extract<AgentAction, { kind: 'startEtcd' } | { kind: 'wait' }>;

function decideEtcdJoin(f: AgentFacts): EtcdJoin {
  const clientUrls = clusterClientUrls(f);
  if (!clientUrls) return wait('waiting for the cluster endpoints to be published');
  if (f.members === undefined || f.members === 'unavailable') return wait("reading the cluster etcd's member list");
  const peerUrl = etcdPeerUrl(f.address);
  const own = f.members.find((m) => m.peerURLs.includes(peerUrl));
  // The controller adds the learner any moment now, and etcd's 5 s window for the next
  // member add starts when this member connects: watch for the entry closely.
  if (!own) return { ...wait('waiting for the controller to add this node as an etcd learner'), learnerEntry: { clientUrls, peerUrl } };
  return { kind: 'startEtcd', mode: 'existing', initialCluster: initialClusterOf(f.members, own, f.instanceId) };
}

/**
 * `name=peerURL,...` for every member, this node named by its instance id. etcd checks
 * that the initial cluster has exactly the members the cluster has (matched by peer URL),
 * so an unstarted member other than this one (empty name) still needs an entry.
 */
export function initialClusterOf(members: readonly EtcdMember[], own: EtcdMember, instanceId: string): string {
  return members
    .flatMap((m) => {
      const name = m === own ? instanceId : m.name || `member-${m.id}`;
      return m.peerURLs.map((u) => `${name}=${u}`);
    })
    .join(',');
}

function decideWorker(f: AgentFacts): AgentAction {
  if (!f.endpoints) return wait('waiting for the cluster endpoints to be published');
  const want = gatewayEndpointsOf(f.endpoints);
  if (want.length === 0) return wait('the cluster endpoints list no etcd member');
  if (!f.etcdRunning || !sameSet(f.gatewayEndpoints ?? [], want)) return { kind: 'startGateway', endpoints: want };
  return decideSwarmJoin(f);
}

function decideSwarmJoin(f: AgentFacts): AgentAction {
  if (f.swarmState === 'active') return { kind: 'steady' };
  if (f.swarmState !== 'inactive') return wait(`the swarm is ${f.swarmState} on this node`);
  if (!f.endpoints || f.endpoints.swarmManagers.length === 0) return wait('waiting for the swarm managers to be published');
  if (!f.tokensStored) return wait('waiting for the swarm join tokens to be stored');
  return { kind: 'joinSwarm', remoteAddrs: [...f.endpoints.swarmManagers] };
}

/** `host:port` endpoints for `etcd gateway start --endpoints` (it takes no scheme). */
export function gatewayEndpointsOf(e: ClusterEndpoints): string[] {
  return [...new Set(e.etcdClientURLs.map((u) => `${urlHost(u)}:${portOf(u)}`))].sort();
}

function portOf(url: string): string {
  const m = /:(\d+)(?:\/.*)?$/.exec(url.replace(/^[a-z]+:\/\//i, ''));
  return m?.[1] ?? '2379';
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);
}

function wait(reason: string): Extract<AgentAction, { kind: 'wait' }> {
  return { kind: 'wait', reason };
}
