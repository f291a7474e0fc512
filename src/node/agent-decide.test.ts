import { describe, expect, it } from 'vitest';
import type { EtcdMember } from '../model/snapshot.ts';
import {
  clusterClientUrls,
  decideAgentAction,
  gatewayEndpointsOf,
  initialClusterOf,
  needsMemberList,
  type AgentFacts,
} from './agent-decide.ts';
import { endpointsOf } from '../protocol/cluster-endpoints.ts';

const ME = { instanceId: 'lc-me', address: '127.200.0.5' };

function facts(overrides: Partial<AgentFacts> = {}): AgentFacts {
  return {
    role: 'manager',
    ...ME,
    etcdDataPresent: false,
    etcdRunning: false,
    claim: undefined,
    tokensStored: false,
    swarmState: 'inactive',
    ...overrides,
  };
}

function aMember(overrides: Partial<EtcdMember> = {}): EtcdMember {
  return {
    id: '1',
    name: 'lc-first',
    peerURLs: ['http://127.200.0.2:2380'],
    clientURLs: ['http://127.200.0.2:2379'],
    isLearner: false,
    leader: true,
    ...overrides,
  };
}

const claimOf = (instanceId: string) => ({ instanceId, address: '127.200.0.2', claimedAt: '2026-01-01T00:00:00Z' });
const published = endpointsOf(['127.200.0.2']);
const learner = aMember({ id: '2', name: '', peerURLs: ['http://127.200.0.5:2380'], clientURLs: [], isLearner: true, leader: false });

describe('decideAgentAction: the first manager', () => {
  it('claims the init key when nobody has', () => {
    expect(decideAgentAction(facts())).toEqual({ kind: 'claimInit' });
  });
  it('starts a new single-member etcd once the claim is its own', () => {
    expect(decideAgentAction(facts({ claim: claimOf('lc-me') }))).toEqual({ kind: 'startEtcd', mode: 'new' });
  });
  it('starts nothing while dockerd is about to restart for the TLS certificate just written', () => {
    const awaited = { dockerRestartAwaited: true };
    for (const f of [
      facts({ claim: claimOf('lc-me'), ...awaited }),
      facts({ claim: claimOf('lc-me'), etcdDataPresent: true, ...awaited }),
      facts({ claim: claimOf('lc-me'), etcdRunning: true, ...awaited }),
      facts({ claim: claimOf('lc-first'), endpoints: published, tokensStored: true, members: [aMember(), learner], ...awaited }),
    ]) {
      expect(decideAgentAction(f)).toMatchObject({ kind: 'wait', reason: expect.stringMatching(/^dockerd restarts/) });
    }
  });
  it('restores the recovery snapshot instead of starting an empty etcd while a recovery order is founding', () => {
    expect(decideAgentAction(facts({ claim: claimOf('lc-me'), restoreFrom: 'prod-20261201t120000000z-scheduled' }))).toEqual({
      kind: 'restoreEtcd',
      backup: 'prod-20261201t120000000z-scheduled',
    });
    // Restored already (a restart): resumes from its data dir, never restores twice.
    expect(decideAgentAction(facts({ claim: claimOf('lc-me'), etcdDataPresent: true, restoreFrom: 'b' }))).toEqual({
      kind: 'startEtcd',
      mode: 'resume',
    });
    // A manager that is not the founder joins as a learner, as for a new cluster.
    expect(decideAgentAction(facts({ claim: claimOf('lc-first'), restoreFrom: 'b', members: [aMember()] })).kind).toBe('wait');
  });
  it('initialises the swarm after etcd runs, then stores tokens, then publishes endpoints', () => {
    const base = facts({ claim: claimOf('lc-me'), etcdRunning: true });
    expect(decideAgentAction(base)).toEqual({ kind: 'swarmInit' });
    expect(decideAgentAction({ ...base, swarmState: 'active' })).toEqual({ kind: 'storeTokens' });
    expect(decideAgentAction({ ...base, swarmState: 'active', tokensStored: true })).toEqual({
      kind: 'publishEndpoints',
      endpoints: { etcdClientURLs: ['http://127.200.0.5:2379'], swarmManagers: ['127.200.0.5:2377'] },
    });
    expect(decideAgentAction({ ...base, swarmState: 'active', tokensStored: true, endpoints: endpointsOf([ME.address]) })).toEqual({
      kind: 'steady',
    });
  });
  it('stores missing tokens after a crash between swarm init and the token write (no second init)', () => {
    const f = facts({ claim: claimOf('lc-me'), etcdDataPresent: true, etcdRunning: true, swarmState: 'active' });
    expect(decideAgentAction(f)).toEqual({ kind: 'storeTokens' });
  });
  it('never claims a cluster whose endpoints are published, even when the claim is gone', () => {
    const f = facts({ endpoints: published, tokensStored: true, members: [aMember()] });
    expect(decideAgentAction(f)).toEqual({ kind: 'joinSwarm', remoteAddrs: ['127.200.0.2:2377'] });
    expect(needsMemberList(f)).toBe(true);
  });
  it('claims again after a restart mid-initialisation (its leased claim expired), carrying on from its data', () => {
    const f = facts({ etcdDataPresent: true, etcdRunning: true, swarmState: 'active' });
    expect(decideAgentAction(f)).toEqual({ kind: 'claimInit' });
    expect(decideAgentAction({ ...f, claim: claimOf('lc-me') })).toEqual({ kind: 'storeTokens' });
  });
  it('does not claim while the claim could not be read', () => {
    expect(decideAgentAction(facts({ claim: 'unread' }))).toMatchObject({ kind: 'wait' });
  });
});

describe('decideAgentAction: a later manager', () => {
  const later = facts({ claim: claimOf('lc-first'), endpoints: published, tokensStored: true });
  it('joins the swarm as a worker while it waits for its learner entry', () => {
    expect(decideAgentAction({ ...later, members: [aMember()] })).toEqual({ kind: 'joinSwarm', remoteAddrs: ['127.200.0.2:2377'] });
  });
  it('waits for the controller to add it as a learner', () => {
    const a = decideAgentAction({ ...later, swarmState: 'active', members: [aMember()] });
    // Watched on its own (the learner's start opens etcd's window for the next add): where
    // the member list is read and which peer URL the entry carries.
    expect(a).toEqual({
      kind: 'wait',
      reason: 'waiting for the controller to add this node as an etcd learner',
      learnerEntry: { clientUrls: published.etcdClientURLs, peerUrl: 'http://127.200.0.5:2380' },
    });
  });
  it('starts etcd with the existing cluster once its peer URL is listed, matching the unnamed learner by peer URL', () => {
    const a = decideAgentAction({ ...later, members: [aMember(), learner] });
    expect(a).toEqual({
      kind: 'startEtcd',
      mode: 'existing',
      initialCluster: 'lc-first=http://127.200.0.2:2380,lc-me=http://127.200.0.5:2380',
    });
  });
  it('waits when the member list cannot be read', () => {
    expect(decideAgentAction({ ...later, swarmState: 'active', members: 'unavailable' })).toMatchObject({ kind: 'wait' });
  });
  it('waits for endpoints and tokens before anything', () => {
    expect(decideAgentAction(facts({ claim: claimOf('lc-first') }))).toMatchObject({ kind: 'wait' });
    expect(decideAgentAction({ ...later, tokensStored: false, members: [aMember()] })).toMatchObject({ kind: 'wait' });
  });
  it('is steady once etcd runs and the swarm is active', () => {
    expect(decideAgentAction({ ...later, etcdRunning: true, etcdDataPresent: true, swarmState: 'active' })).toEqual({ kind: 'steady' });
  });
  it('before the founder publishes the endpoints, reads the member list from the claimant and starts etcd once listed', () => {
    const early = facts({ claim: claimOf('lc-first'), swarmState: 'inactive' });
    expect(clusterClientUrls(early)).toEqual(['http://127.200.0.2:2379']);
    expect(needsMemberList(early)).toBe(true);
    expect(decideAgentAction({ ...early, members: [aMember(), learner] })).toMatchObject({ kind: 'startEtcd', mode: 'existing' });
    // The swarm join still waits for the published managers and the tokens.
    expect(decideAgentAction({ ...early, etcdRunning: true, members: [aMember(), learner] })).toMatchObject({ kind: 'wait' });
  });
  it("without endpoints and without the claimant's address (the bootstrap exchange), waits", () => {
    const unknown = facts({ claim: { instanceId: '(another node)', address: '', claimedAt: '2026-01-01T00:00:00Z' } });
    expect(clusterClientUrls(unknown)).toBeUndefined();
    expect(decideAgentAction(unknown)).toEqual({ kind: 'wait', reason: 'waiting for the cluster endpoints to be published' });
  });
  it('asks for the member list only when it has to join etcd', () => {
    expect(needsMemberList(later)).toBe(true);
    expect(needsMemberList({ ...later, etcdRunning: true })).toBe(false);
    expect(needsMemberList({ ...later, claim: claimOf('lc-me') })).toBe(false);
    expect(needsMemberList({ ...later, role: 'worker' })).toBe(false);
  });
});

describe('decideAgentAction: a reboot keeps membership', () => {
  it('resumes etcd from its data dir without claiming or joining again', () => {
    for (const claim of [claimOf('lc-first'), claimOf('lc-me'), undefined, 'unread' as const]) {
      expect(decideAgentAction(facts({ claim, etcdDataPresent: true, swarmState: 'active' }))).toEqual({
        kind: 'startEtcd',
        mode: 'resume',
      });
    }
  });
  it('resumes when the member list lists it or cannot be read (a lone manager is its own endpoint)', () => {
    const f = facts({ claim: claimOf('lc-first'), etcdDataPresent: true, swarmState: 'active', endpoints: published });
    expect(decideAgentAction({ ...f, members: [aMember(), { ...learner, name: 'lc-me', isLearner: false }] })).toEqual({
      kind: 'startEtcd',
      mode: 'resume',
    });
    expect(decideAgentAction({ ...f, members: 'unavailable' })).toEqual({ kind: 'startEtcd', mode: 'resume' });
    expect(needsMemberList(f)).toBe(true);
  });
  it('does not bring back an etcd member the controller removed from the cluster', () => {
    const f = facts({
      claim: claimOf('lc-first'),
      etcdDataPresent: true,
      swarmState: 'active',
      endpoints: published,
      members: [aMember()],
    });
    expect(decideAgentAction(f)).toEqual({
      kind: 'wait',
      reason: "this node's etcd member was removed from the cluster; not restarting it",
    });
  });
  it('never initialises or joins a swarm the node is already part of', () => {
    const f = facts({
      claim: claimOf('lc-first'),
      etcdDataPresent: true,
      etcdRunning: true,
      swarmState: 'active',
      endpoints: published,
      tokensStored: true,
    });
    expect(decideAgentAction(f)).toEqual({ kind: 'steady' });
    expect(decideAgentAction({ ...f, role: 'worker', gatewayEndpoints: ['127.200.0.2:2379'] })).toEqual({ kind: 'steady' });
  });
});

describe('decideAgentAction: a worker', () => {
  const worker = facts({ role: 'worker', claim: claimOf('lc-first'), endpoints: published, tokensStored: true });
  it('starts the gateway to the managers, then joins the swarm', () => {
    expect(decideAgentAction(worker)).toEqual({ kind: 'startGateway', endpoints: ['127.200.0.2:2379'] });
    expect(decideAgentAction({ ...worker, etcdRunning: true, gatewayEndpoints: ['127.200.0.2:2379'] })).toEqual({
      kind: 'joinSwarm',
      remoteAddrs: ['127.200.0.2:2377'],
    });
  });
  it('restarts the gateway when the managers change', () => {
    const moved = endpointsOf(['127.200.0.2', '127.200.0.3']);
    const a = decideAgentAction({
      ...worker,
      endpoints: moved,
      etcdRunning: true,
      gatewayEndpoints: ['127.200.0.2:2379'],
      swarmState: 'active',
    });
    expect(a).toEqual({ kind: 'startGateway', endpoints: ['127.200.0.2:2379', '127.200.0.3:2379'] });
  });
  it('never claims the cluster', () => {
    expect(decideAgentAction(facts({ role: 'worker' }))).toMatchObject({ kind: 'wait' });
  });
});

describe('decideAgentAction: the node itself', () => {
  it('waits while its dockerd does not answer', () => {
    expect(decideAgentAction(facts({ swarmState: 'unreachable' }))).toMatchObject({ kind: 'wait' });
  });
  it("starts a manager's first etcd before its booting dockerd answers, and nothing else", () => {
    const booting = { swarmState: 'booting' } as const;
    expect(decideAgentAction(facts(booting))).toEqual({ kind: 'claimInit' });
    expect(decideAgentAction(facts({ ...booting, claim: claimOf('lc-me') }))).toEqual({ kind: 'startEtcd', mode: 'new' });
    expect(decideAgentAction(facts({ ...booting, claim: claimOf('lc-me'), restoreFrom: 'b1' }))).toEqual({
      kind: 'restoreEtcd',
      backup: 'b1',
    });
    expect(decideAgentAction(facts({ ...booting, claim: claimOf('lc-first'), members: [aMember(), learner] }))).toMatchObject({
      kind: 'startEtcd',
      mode: 'existing',
    });
    const waitsForDockerd = { kind: 'wait', reason: "this node's dockerd has not answered yet" };
    for (const f of [
      facts({ ...booting, claim: claimOf('lc-me'), etcdRunning: true }), // swarm init waits
      facts({ ...booting, claim: claimOf('lc-me'), etcdDataPresent: true }), // resume waits
      facts({ ...booting, claim: claimOf('lc-first'), members: [aMember()] }), // no entry yet
      facts({ ...booting, role: 'worker', endpoints: published }),
    ]) {
      expect(decideAgentAction(f)).toEqual(waitsForDockerd);
    }
    expect(decideAgentAction(facts({ ...booting, dockerRestartAwaited: true }))).toMatchObject({
      kind: 'wait',
      reason: expect.stringMatching(/^dockerd restarts/),
    });
  });
  it('waits on a swarm that is pending or in error', () => {
    expect(decideAgentAction(facts({ claim: claimOf('lc-me'), etcdRunning: true, swarmState: 'pending' }))).toMatchObject({ kind: 'wait' });
  });
});

describe('helpers', () => {
  it('names other unstarted members so etcd sees every member in the initial cluster', () => {
    const other = aMember({ id: 'ab', name: '', peerURLs: ['http://127.200.0.9:2380'] });
    expect(initialClusterOf([aMember(), other, learner], learner, 'lc-me')).toBe(
      'lc-first=http://127.200.0.2:2380,member-ab=http://127.200.0.9:2380,lc-me=http://127.200.0.5:2380',
    );
  });
  it('turns client URLs into gateway endpoints without a scheme', () => {
    expect(gatewayEndpointsOf({ etcdClientURLs: ['http://127.1.0.3:2379', 'http://127.1.0.2:2379'], swarmManagers: [] })).toEqual([
      '127.1.0.2:2379',
      '127.1.0.3:2379',
    ]);
  });
});
