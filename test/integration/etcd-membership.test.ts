// EtcdMembership against real etcd 3.4 clusters: a 3-member cluster grown to 4 by a
// learner add + promote of a 4th member process started with --initial-cluster-state
// existing (the started learner probed with Status alone), then leadership moved, a member removed and a killed member reported
// unhealthy; and a single member with TLS and password auth.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEtcdProcess, waitForEtcdHealth, type EtcdProcess } from '../../src/etcd/etcd-process.ts';
import { EtcdMembership } from '../../src/etcd/etcd-membership.ts';
import { isSwarmkeeperError } from '../../src/errors.ts';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import { startEtcdCluster, type EtcdTestCluster } from '../support/etcd.ts';
import { until } from '../support/until.ts';
import { codeOf } from '../support/error-codes.ts';

/** Block for the extra members this file starts itself (the clusters use test/support/etcd.ts's). */
const EXTRA_BLOCK = 31;

describe('EtcdMembership on a real 3-member cluster grown to 4', () => {
  let cluster: EtcdTestCluster;
  let etcd: EtcdMembership;
  let extraDir: string;
  let extraAddress: string;
  let fourth: EtcdProcess | undefined;
  let fourthId: string;

  beforeAll(async () => {
    cluster = await startEtcdCluster({ size: 3 });
    etcd = new EtcdMembership({ endpoints: cluster.endpoints });
    extraDir = mkdtempSync(join(tmpdir(), 'sk-etcdm-'));
    extraAddress = reserveLoopback({ block: EXTRA_BLOCK });
  }, 120_000);

  afterAll(async () => {
    await etcd?.close();
    await fourth?.stop(5_000).catch(() => fourth?.kill());
    await cluster?.stop();
    if (extraDir) rmSync(extraDir, { recursive: true, force: true });
    if (extraAddress) releaseLoopback(extraAddress);
  }, 60_000);

  it('views every member healthy, one leader, the same member list everywhere, no alarms', async () => {
    const view = await etcd.view();
    expect(view.members).toHaveLength(3);
    expect(view.alarms).toEqual([]);
    const ids = view.members.map((m) => m.id).sort();
    for (const m of view.members) {
      expect(m.id).toMatch(/^\d+$/);
      expect(m.healthy).toBe(true);
      expect(m.isLearner).toBe(false);
      expect(m.reportedMembers).toEqual(ids);
      expect(m.raftIndex).toBeGreaterThan(0);
      expect(cluster.endpoints).toContain(m.clientURLs[0]);
    }
    expect(view.members.filter((m) => m.leader)).toHaveLength(1);
    expect(view.leaderId).toBe(view.members.find((m) => m.leader)!.id);
  });

  it('asks the members that answered before first: endpoints that accept and never answer (frozen members) cost their call timeouts once, not every view', async () => {
    // A listener that accepts connections and never says anything: a frozen member, which
    // costs a client its whole call timeout (a refused connection would fail at once).
    const frozen = [reserveLoopback({ block: EXTRA_BLOCK }), reserveLoopback({ block: EXTRA_BLOCK })];
    const sockets: Socket[] = [];
    const servers = await Promise.all(
      frozen.map(
        (address) =>
          new Promise<Server>((resolve, reject) => {
            const server = createServer((socket) => sockets.push(socket));
            server.once('error', reject);
            server.listen(2379, address, () => resolve(server));
          }),
      ),
    );
    const viaFrozen = new EtcdMembership({
      endpoints: [...frozen.map((a) => `http://${a}:2379`), ...cluster.endpoints],
      callTimeoutMs: 2_000,
    });
    try {
      let t0 = performance.now();
      expect((await viaFrozen.view()).members).toHaveLength(3);
      // Both frozen endpoints were asked first, each until its timeout.
      expect(performance.now() - t0).toBeGreaterThan(3_500);
      t0 = performance.now();
      expect((await viaFrozen.view()).members).toHaveLength(3);
      expect(performance.now() - t0).toBeLessThan(2_000);
    } finally {
      await viaFrozen.close();
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
      for (const a of frozen) releaseLoopback(a);
    }
  });

  it('adds a learner (idempotent on its peer URL); unstarted it has no name and is not healthy; promote is refused', async () => {
    const peerUrl = `http://${extraAddress}:2380`;
    fourthId = await etcd.addLearner([peerUrl]);
    expect(fourthId).toMatch(/^\d+$/);
    expect(await etcd.addLearner([peerUrl])).toBe(fourthId);
    const view = await etcd.view();
    expect(view.members).toHaveLength(4);
    const learner = view.members.find((m) => m.id === fourthId)!;
    expect(learner).toMatchObject({ name: '', isLearner: true, healthy: false, peerURLs: [peerUrl], clientURLs: [] });
    expect(await codeOf(etcd.promote(fourthId))).toBe('Precondition');
  });

  it('probes a started learner with Status alone: healthy with its raft index, no member list (etcd 3.4 refuses MemberList on learners)', async () => {
    const initialCluster = [...cluster.members.map((m) => `${m.name}=${m.peerUrl}`), `m3=http://${extraAddress}:2380`].join(',');
    fourth = await startEtcdProcess({
      name: 'm3',
      dataDir: join(extraDir, 'm3'),
      clientUrls: [`http://${extraAddress}:2379`],
      peerUrl: `http://${extraAddress}:2380`,
      initialCluster,
      initialClusterState: 'existing',
      logFile: join(extraDir, 'm3.log'),
      waitFor: 'none',
    });
    await waitForEtcdHealth(`http://${extraAddress}:2379`, { timeoutMs: 90_000, path: '/version' });
    const view = await until('started learner seen healthy', async () => {
      const v = await etcd.view();
      return v.members.find((m) => m.id === fourthId)?.healthy === true ? v : undefined;
    });
    const learner = view.members.find((m) => m.id === fourthId)!;
    expect(learner).toMatchObject({ name: 'm3', isLearner: true, healthy: true, clientURLs: [`http://${extraAddress}:2379`] });
    expect(learner.raftIndex).toBeGreaterThan(0);
    expect(learner.reportedMembers).toBeUndefined();
    // The learner does not count in the voters' agreement, nor does it hide the alarms read.
    const voters = view.members.filter((m) => !m.isLearner);
    expect(voters).toHaveLength(3);
    for (const m of voters) expect(m.reportedMembers).toHaveLength(4);
    expect(view.alarms).toEqual([]);
    expect(view.leaderId).toBe(voters.find((m) => m.leader)?.id);

    // Seeded with the learner's URL first: its refusal of MemberList moves on to a voter.
    const viaLearner = new EtcdMembership({ endpoints: [`http://${extraAddress}:2379`, cluster.endpoints[0]!], callTimeoutMs: 5_000 });
    try {
      expect((await viaLearner.listMembers()).map((m) => m.id).sort()).toEqual(view.members.map((m) => m.id).sort());
      expect((await viaLearner.view()).members.find((m) => m.id === fourthId)?.healthy).toBe(true);
    } finally {
      await viaLearner.close();
    }
  });

  it('promotes the learner once it has caught up', async () => {
    await until('learner promoted', async () => {
      const code = await codeOf(etcd.promote(fourthId));
      if (code === 'resolved') return true;
      expect(code).toBe('Precondition');
      return undefined;
    });
    await etcd.promote(fourthId); // a repeat of an applied promotion resolves
    const view = await until('4 healthy voters that agree', async () => {
      const v = await etcd.view();
      const ok = v.members.length === 4 && v.members.every((m) => m.healthy && !m.isLearner && m.reportedMembers?.length === 4);
      return ok ? v : undefined;
    });
    expect(view.members.find((m) => m.id === fourthId)!.name).toBe('m3');
  });

  it('moves leadership to the new member by asking the current leader', async () => {
    await etcd.moveLeader(fourthId);
    const view = await until(
      'leader is the new member',
      async () => {
        const v = await etcd.view();
        return v.leaderId === fourthId ? v : undefined;
      },
      30_000,
    );
    expect(view.members.find((m) => m.leader)!.id).toBe(fourthId);
    await etcd.moveLeader(fourthId); // already the leader: resolves
    expect(await codeOf(etcd.moveLeader('123456789'))).toBe('NotFound');
  });

  it('removes a member through another member; removing it again resolves', async () => {
    const before = await etcd.listMembers();
    const victim = before.find((m) => m.name === 'm0')!;
    await etcd.removeMember(victim.id);
    const after = await etcd.listMembers();
    expect(after.map((m) => m.id)).not.toContain(victim.id);
    expect(after).toHaveLength(3);
    await etcd.removeMember(victim.id);
    // The removed member shuts itself down; let the helper forget it.
    await cluster.killMember(0);
  });

  it('reports a killed member as unhealthy while the rest stay healthy with a leader, and healthy again after a restart', async () => {
    const members = await etcd.listMembers();
    const victim = members.find((m) => m.name === 'm1' && !m.leader) ?? members.find((m) => !m.leader)!;
    const idx = cluster.members.findIndex((m) => m.name === victim.name);
    await cluster.killMember(idx);
    const view = await until('killed member seen unhealthy', async () => {
      const v = await etcd.view();
      return v.members.find((m) => m.id === victim.id)?.healthy === false ? v : undefined;
    });
    expect(view.members).toHaveLength(3);
    expect(view.members.filter((m) => m.id !== victim.id).every((m) => m.healthy)).toBe(true);
    expect(view.leaderId).toBeDefined();
    expect(view.members.find((m) => m.id === victim.id)!.reportedMembers).toBeUndefined();

    // The same (long-lived) adapter sees the member healthy again once it is back:
    // no stale connection state keeps it marked down.
    const t0 = Date.now();
    await cluster.restartMember(idx);
    await until(
      'restarted member seen healthy',
      async () => {
        const v = await etcd.view();
        return v.members.find((m) => m.id === victim.id)?.healthy === true ? v : undefined;
      },
      30_000,
    );
    expect(Date.now() - t0).toBeLessThan(30_000);
  });
});

describe('EtcdMembership with TLS and password auth', () => {
  let cluster: EtcdTestCluster;

  beforeAll(async () => {
    cluster = await startEtcdCluster({ size: 1, tls: true, auth: { rootPassword: 'pw-for-membership-test' } });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it('views the cluster over TLS with the right credentials', async () => {
    const tls = cluster.tls!;
    const etcd = new EtcdMembership({
      endpoints: cluster.endpoints,
      tls: { caFile: tls.caFile, certFile: tls.certFile, keyFile: tls.keyFile },
      credentials: { username: 'root', password: 'pw-for-membership-test' },
    });
    try {
      const view = await etcd.view();
      expect(view.members).toHaveLength(1);
      expect(view.members[0]!.healthy).toBe(true);
      expect(view.members[0]!.clientURLs[0]).toMatch(/^https:/);
    } finally {
      await etcd.close();
    }
  });

  it('refuses a wrong password with Unauthorized, never naming the password', async () => {
    const tls = cluster.tls!;
    const etcd = new EtcdMembership({
      endpoints: cluster.endpoints,
      tls: { caFile: tls.caFile, certFile: tls.certFile, keyFile: tls.keyFile },
      credentials: { username: 'root', password: 'wrong-password-xyz' },
    });
    try {
      const err = await etcd.listMembers().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isSwarmkeeperError(err, 'Unauthorized'), String(err)).toBe(true);
      expect(String(err)).not.toContain('wrong-password-xyz');
    } finally {
      await etcd.close();
    }
  });

  it('reports an endpoint nobody listens on as Unavailable within the call deadline', async () => {
    const etcd = new EtcdMembership({ endpoints: ['http://127.31.255.254:2379'], callTimeoutMs: 2_000 });
    const t0 = Date.now();
    try {
      expect(await codeOf(etcd.view())).toBe('Unavailable');
      expect(Date.now() - t0).toBeLessThan(15_000);
    } finally {
      await etcd.close();
    }
  });
});
