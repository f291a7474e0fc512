import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { afterEach, describe, expect, it } from 'vitest';
import type { JoinResponse } from '../protocol/bootstrap-exchange.ts';
import { dockerTlsPaths, ensureDockerCsr, writeDockerTls } from './docker-tls.ts';
import { DOCKER_RESTART_WAIT_MS, ExchangeKv, type ExchangeClient } from './exchange-kv.ts';
import { endpointsOf } from '../protocol/cluster-endpoints.ts';

const dirs: string[] = [];
const temp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'xkv-'));
  dirs.push(d);
  return d;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function scripted(
  answers: Awaited<ReturnType<ExchangeClient['exchange']>>[],
  reports: number[] = [],
): ExchangeClient & { calls: number; reported: unknown[] } {
  const c = {
    calls: 0,
    reported: [] as unknown[],
    exchange: async () => answers[Math.min(c.calls++, answers.length - 1)]!,
    reportInitialized: async (t: unknown) => {
      c.reported.push(t);
      return reports.shift() ?? 204;
    },
  };
  return c;
}

const endpoints = {
  readEndpoints: async () => endpointsOf(['10.0.0.2']),
  watchEndpoints: async () => async () => undefined,
  close: async () => undefined,
};
const joinAnswer: JoinResponse = {
  cluster: 'prod',
  role: 'worker',
  instanceId: 'i-1',
  initialize: false,
  swarm: { joinToken: 'SWMTKN-w', managers: ['10.0.0.2:2377'] },
  etcd: { clientURLs: ['http://10.0.0.2:2379'] },
};
const initAnswer: JoinResponse = { cluster: 'prod', role: 'manager', instanceId: 'i-1', initialize: true, etcd: { clientURLs: [] } };

function kvWith(client: ExchangeClient, answerFile: string, now = () => 1_000): ExchangeKv {
  return new ExchangeKv({ instanceId: 'i-1', address: '10.0.0.5', endpoints, client, answerFile, now });
}

describe('ExchangeKv (the ec2 join source)', () => {
  it('says the token is spent once a joining node saved its answer, never for the founder; makes its endpoints source from the answer', async () => {
    const spent: string[] = [];
    const made: (string | undefined)[] = [];
    const kvOf = (answer: JoinResponse, id: string): ExchangeKv =>
      new ExchangeKv({
        instanceId: 'i-1',
        address: '10.0.0.5',
        client: scripted([{ status: 200, join: { ...answer, nodeCredential: `skn1.${id}` } }]),
        answerFile: join(temp(), 'answer.json'),
        endpoints: (a) => {
          made.push(a.nodeCredential);
          return endpoints;
        },
        onSpent: () => spent.push(id),
      });
    const worker = kvOf(joinAnswer, 'w');
    expect(spent).toEqual([]);
    expect(await worker.readEndpoints()).toEqual(endpointsOf(['10.0.0.2']));
    expect(spent).toEqual(['w']);
    const founder = kvOf(initAnswer, 'f');
    expect(await founder.claimInit()).toBe(true);
    await founder.storeTokens({ worker: 'SWMTKN-w', manager: 'SWMTKN-m' });
    await founder.watchEndpoints(() => undefined);
    expect(spent).toEqual(['w']);
    expect(made).toEqual(['skn1.w', 'skn1.f']);
  });

  it('joins with the exchanged worker token and never claims', async () => {
    const client = scripted([{ status: 200, join: joinAnswer }]);
    const kv = kvWith(client, join(temp(), 'answer.json'));
    expect(await kv.readClaim()).toMatchObject({ instanceId: '(another node)' });
    expect(await kv.hasTokens()).toBe(true);
    expect((await kv.readTokens())?.worker).toBe('SWMTKN-w');
    expect(client.calls).toBe(1);
  });
  it('exchanges once when asked for the claim and the tokens at the same time', async () => {
    const client = scripted([{ status: 200, join: joinAnswer }, { status: 401 }]);
    const kv = kvWith(client, join(temp(), 'answer.json'));
    const [claim, has] = await Promise.all([kv.readClaim(), kv.hasTokens()]);
    expect(claim).toMatchObject({ instanceId: '(another node)' });
    expect(has).toBe(true);
    expect(client.calls).toBe(1);
  });
  it('initialises when told to, and reports the swarm tokens it created', async () => {
    const client = scripted([{ status: 200, join: initAnswer }]);
    const kv = kvWith(client, join(temp(), 'answer.json'));
    expect(await kv.readClaim()).toMatchObject({ instanceId: 'i-1', address: '10.0.0.5' });
    expect(await kv.hasTokens()).toBe(false);
    await kv.storeTokens({ worker: 'w', manager: 'm' });
    expect(client.reported).toEqual([{ worker: 'w', manager: 'm' }]);
    expect(await kv.hasTokens()).toBe(true);
  });
  it('uses the one-time token once: a restarted agent reads the kept answer (mode 0600)', async () => {
    const file = join(temp(), 'answer.json');
    await kvWith(scripted([{ status: 200, join: joinAnswer }]), file).readTokens();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = scripted([{ status: 401 }]);
    expect((await kvWith(again, file).readTokens())?.worker).toBe('SWMTKN-w');
    expect(again.calls).toBe(0);
  });
  it('waits as the controller asks (503 retry-after) and reports a refused token without quoting it', async () => {
    let now = 1_000;
    const client = scripted([{ status: 503, retryAfterSeconds: 10 }, { status: 401 }]);
    const kv = kvWith(client, join(temp(), 'answer.json'), () => now);
    await expect(kv.readClaim()).rejects.toThrow(/retry .* in 10 s/);
    await expect(kv.readClaim()).rejects.toThrow(/waiting to retry/);
    expect(client.calls).toBe(1);
    now += 10_000;
    await expect(kv.readClaim()).rejects.toMatchObject({
      code: 'Unauthorized',
      message: expect.stringMatching(/^the controller refused the bootstrap token exchange: HTTP 401 .*replaces it/),
    });
  });
  it('keeps the answer when applying it fails (the token is spent), and applies a saved answer again after a restart', async () => {
    const file = join(temp(), 'answer.json');
    const client = scripted([{ status: 200, join: joinAnswer }]);
    let applied = 0;
    const failing = new ExchangeKv({
      instanceId: 'i-1',
      address: '10.0.0.5',
      endpoints,
      client,
      answerFile: file,
      onAnswer: () => {
        applied++;
        if (applied === 1) throw new Error('disk full');
      },
    });
    await expect(failing.readClaim()).rejects.toThrow('disk full');
    expect(await failing.hasTokens()).toBe(true);
    const restarted = new ExchangeKv({
      instanceId: 'i-1',
      address: '10.0.0.5',
      endpoints,
      client,
      answerFile: file,
      onAnswer: () => void applied++,
    });
    expect(await restarted.hasTokens()).toBe(true);
    expect(client.calls).toBe(1);
    expect(applied).toBe(3);
  });
  it('awaits the restart of dockerd only when applying the answer wrote a new certificate, and for a bounded time', async () => {
    const file = join(temp(), 'answer.json');
    const client = scripted([{ status: 200, join: initAnswer }]);
    let now = 1_000;
    let overdue = 0;
    const kvOf = (wrote: boolean): ExchangeKv =>
      new ExchangeKv({
        instanceId: 'i-1',
        address: '10.0.0.5',
        endpoints,
        client,
        answerFile: file,
        now: () => now,
        onAnswer: () => wrote,
        onDockerRestartOverdue: () => overdue++,
      });
    const first = kvOf(true);
    expect(first.awaitsDockerRestart()).toBe(false);
    await first.readClaim();
    expect(first.awaitsDockerRestart()).toBe(true);
    now += DOCKER_RESTART_WAIT_MS - 1;
    expect(first.awaitsDockerRestart()).toBe(true);
    expect(overdue).toBe(0);
    now += 1;
    expect(first.awaitsDockerRestart()).toBe(false);
    expect(first.awaitsDockerRestart()).toBe(false);
    // Said once, when the wait ran out.
    expect(overdue).toBe(1);
    // Restarted with dockerd: the saved answer is applied again and finds the files current.
    const restarted = kvOf(false);
    await restarted.readClaim();
    expect(restarted.awaitsDockerRestart()).toBe(false);
    expect(client.calls).toBe(1);
  });
  it('fails the report step when the controller does not accept it', async () => {
    const kv = kvWith(scripted([{ status: 200, join: initAnswer }], [401]), join(temp(), 'answer.json'));
    await expect(kv.storeTokens({ worker: 'w', manager: 'm' })).rejects.toThrow('HTTP 401');
    expect(await kv.hasTokens()).toBe(false);
  });
});

describe('docker TLS files of a manager', () => {
  it('makes a key (0600) and a signed request for its address once, and writes what comes back', async () => {
    const dir = temp();
    const pem = await ensureDockerCsr(dir, '10.0.0.5');
    const csr = new x509.Pkcs10CertificateRequest(pem);
    expect(await csr.verify()).toBe(true);
    expect(csr.subject).toBe('CN=10.0.0.5');
    const p = dockerTlsPaths(dir);
    expect(statSync(p.key).mode & 0o777).toBe(0o600);
    expect(await ensureDockerCsr(dir, '10.0.0.5')).toBe(pem);
    writeDockerTls(dir, { ca: 'CA-PEM', cert: 'CERT-PEM' });
    expect(readFileSync(p.ca, 'utf8')).toBe('CA-PEM\n');
    expect(readFileSync(p.cert, 'utf8')).toBe('CERT-PEM\n');
  });
});
