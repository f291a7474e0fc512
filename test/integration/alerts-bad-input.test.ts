// Malformed and hostile webhook requests over real HTTP on loopback, against a real
// etcd. Each must get its status code and change NOTHING: the test compares etcd's
// revision (which moves on any write) and the full key dump before and after. A valid
// request at the end proves the setup can see a change at all.
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdMarkStore } from '../../src/store/mark-store.ts';
import type { SwarmNode } from '../../src/model/snapshot.ts';
import { aWorkerInstance, startAlertIntake, type AlertIntake } from '../support/alert-intake.ts';

const TOKEN = 'bad-input-token-4d8e0f7a1c';
const PREFIX = '/sk-alerts-bad';
const BODY_LIMIT = 64 * 1024;

const node = (id: string, instanceId: string, address: string): SwarmNode => ({
  id,
  role: 'worker',
  availability: 'active',
  state: 'ready',
  leader: false,
  instanceId,
  address,
  version: 1,
});

let intake: AlertIntake | undefined;
let client: Etcd3;
let url: string;
let store: EtcdMarkStore;

beforeAll(async () => {
  intake = await startAlertIntake({
    prefix: PREFIX,
    token: TOKEN,
    bodyLimitBytes: BODY_LIMIT,
    clusters: {
      prod: {
        instances: [aWorkerInstance('w1', '127.47.201.1'), aWorkerInstance('w2', '127.47.201.2')],
        swarmNodes: [node('sw1', 'w1', '127.47.201.1')],
      },
    },
  });
  ({ client, store } = intake);
  url = `${intake.baseUrl}/v1/alerts`;
  // Existing state the bad requests must leave alone: a detector mark and an alert mark.
  await store.putMark('prod', { instanceId: 'w1', source: 'detector:swarm', reason: 'down', since: Date.now() - 10_000 });
  await store.putMark('prod', { instanceId: 'w1', source: 'alert', reason: 'Alert X firing', since: Date.now() - 5_000 });
});

afterAll(async () => {
  await intake?.stop();
});

async function etcdState(): Promise<{ revision: string; dump: Record<string, string> }> {
  const res = await client.getAll().prefix(PREFIX).exec();
  return {
    revision: res.header.revision,
    dump: Object.fromEntries(res.kvs.map((kv) => [kv.key.toString(), `${kv.mod_revision}:${kv.value.toString()}`])),
  };
}

const alert = (status: 'firing' | 'resolved', labels: Record<string, unknown>) => ({
  status,
  labels: { alertname: 'SwarmNodeDown', ...labels },
  startsAt: new Date().toISOString(),
});
const payload = (alerts: unknown[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({ version: '4', status: 'firing', receiver: 'swarmkeeper', alerts, ...extra });
const firingW2 = payload([alert('firing', { swarmkeeper_cluster: 'prod', instance_id: 'w2' })]);

interface Case {
  readonly name: string;
  readonly body?: string | Buffer;
  readonly headers?: Record<string, string | undefined>;
  readonly status: number;
  /** A piece of the error message that says what was wrong. */
  readonly says?: RegExp;
}

const auth = { authorization: `Bearer ${TOKEN}` };
const json = { 'content-type': 'application/json' };

const CASES: Case[] = [
  { name: 'malformed JSON', body: '{"version": "4", "alerts": [', status: 400 },
  { name: 'empty body', body: '', status: 400 },
  {
    name: 'prototype poisoning (__proto__ key)',
    body: '{"version":"4","status":"firing","alerts":[],"__proto__":{"polluted":1}}',
    status: 400,
  },
  { name: 'a JSON array instead of an object', body: '[]', status: 400, says: /object/ },
  { name: 'alerts of the wrong type (string)', body: payload([], { alerts: 'w2' }), status: 400, says: /alerts/ },
  {
    name: 'a label value of the wrong type (number)',
    body: payload([alert('firing', { swarmkeeper_cluster: 'prod', instance_id: 2 })]),
    status: 400,
    says: /labels/,
  },
  {
    name: 'webhook version 3',
    body: payload([alert('firing', { swarmkeeper_cluster: 'prod', instance_id: 'w2' })], { version: '3' }),
    status: 400,
    says: /version/,
  },
  {
    name: 'an unknown alert status',
    body: payload([{ ...alert('firing', { swarmkeeper_cluster: 'prod', instance_id: 'w2' }), status: 'exploded' }]),
    status: 400,
    says: /status/,
  },
  { name: 'no alerts at all', body: payload([]), status: 400, says: /alerts/ },
  {
    name: 'more than 1000 alerts',
    body: payload(Array.from({ length: 1001 }, () => ({ status: 'firing', labels: {} }))),
    status: 400,
    says: /alerts/,
  },
  {
    name: 'a huge label value',
    body: payload([alert('firing', { swarmkeeper_cluster: 'prod', instance_id: 'w2', junk: 'x'.repeat(5000) })]),
    status: 400,
  },
  {
    name: 'a body over the size limit',
    body: payload([alert('firing', { swarmkeeper_cluster: 'prod', instance_id: 'w2' })], { pad: 'x'.repeat(BODY_LIMIT) }),
    status: 413,
  },
  { name: 'a 4 MiB body without a token', body: Buffer.alloc(4 * 1024 * 1024, 0x20), headers: { authorization: undefined }, status: 401 },
  { name: 'a wrong bearer token', body: firingW2, headers: { authorization: 'Bearer not-the-token-at-all-123' }, status: 401 },
  { name: 'a token that is the right one plus a suffix', body: firingW2, headers: { authorization: `Bearer ${TOKEN}0` }, status: 401 },
  { name: 'no Authorization header', body: firingW2, headers: { authorization: undefined }, status: 401 },
  {
    name: 'Basic instead of Bearer',
    body: firingW2,
    headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
    status: 401,
  },
  { name: 'text/plain content type', body: firingW2, headers: { 'content-type': 'text/plain' }, status: 415 },
  {
    name: 'form-encoded content type',
    body: 'version=4&alerts=w2',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    status: 415,
  },
  {
    name: 'an unknown cluster',
    body: payload([alert('firing', { swarmkeeper_cluster: 'staging', instance_id: 'w2' })]),
    status: 404,
    says: /staging/,
  },
  {
    name: 'an unknown node',
    body: payload([alert('firing', { swarmkeeper_cluster: 'prod', instance_id: 'i-nope' })]),
    status: 404,
    says: /i-nope/,
  },
  {
    name: 'an unknown address',
    body: payload([alert('firing', { cluster: 'prod', instance: '10.9.9.9:9100' })]),
    status: 404,
    says: /10\.9\.9\.9/,
  },
  { name: 'no cluster label', body: payload([alert('firing', { instance_id: 'w2' })]), status: 422, says: /cluster/ },
  { name: 'no node label', body: payload([alert('firing', { swarmkeeper_cluster: 'prod' })]), status: 422, says: /node label/ },
  {
    name: 'a batch with one good and one unknown node (nothing of it is written)',
    body: payload([
      alert('firing', { swarmkeeper_cluster: 'prod', instance_id: 'w2' }),
      alert('firing', { swarmkeeper_cluster: 'prod', instance_id: 'i-gone' }),
    ]),
    status: 404,
    says: /alerts\[1\]/,
  },
  {
    name: 'a replayed resolved alert for a node without an alert mark',
    body: payload([alert('resolved', { swarmkeeper_cluster: 'prod', instance_id: 'w2' })], { status: 'resolved' }),
    status: 200,
  },
  {
    name: 'a replayed resolved alert for a node that is gone',
    body: payload([alert('resolved', { swarmkeeper_cluster: 'prod', instance_id: 'i-replaced' })], { status: 'resolved' }),
    status: 200,
  },
];

describe('webhook bad input', () => {
  it('has at least 15 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(15);
  });

  it.each(CASES)('answers $status to $name and changes nothing', async (c) => {
    const before = await etcdState();
    const headers = Object.fromEntries(
      Object.entries({ ...json, ...auth, ...(c.headers ?? {}) }).filter((e): e is [string, string] => e[1] !== undefined),
    );
    const res = await fetch(url, { method: 'POST', headers, body: c.body ?? firingW2 });
    const text = await res.text();
    expect(res.status, text).toBe(c.status);
    if (c.says) expect(JSON.parse(text).message).toMatch(c.says);
    if (c.status === 401) expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const after = await etcdState();
    expect(after).toEqual(before);
  });

  it('still takes a valid alert (the checks above could see a change)', async () => {
    const before = await etcdState();
    const res = await fetch(url, {
      method: 'POST',
      headers: { ...json, ...auth },
      body: payload([alert('firing', { swarmkeeper_cluster: 'prod', swarm_node_id: 'sw1' })]),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ marked: ['w1'], cleared: [], ignored: 0 });
    const after = await etcdState();
    expect(after.revision).not.toBe(before.revision);
  });
});
