import { describe, expect, it } from 'vitest';
import { aSwarmCluster, withField } from '../../test/support/spec-fixtures.ts';
import type { SwarmCluster } from '../spec/schema.ts';
import { composeStored, inForce, interpret, readStoredDoc, specErrorOf } from './stored-doc.ts';

const now = () => Date.parse('2026-02-03T04:05:06Z');
const raw = (o: Partial<Parameters<typeof inForce>[0]>) => ({ name: 'prod', specRevision: '5', lastGoodRevision: '5', ...o });

describe('composeStored', () => {
  it('creates with generation 1, a uid and the creation time', () => {
    const c = composeStored(aSwarmCluster(), undefined, now);
    expect(c.metadata).toMatchObject({ name: 'prod', generation: 1, creationTimestamp: '2026-02-03T04:05:06.000Z' });
    expect(c.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('bumps generation on spec changes only, and keeps uid and creation time', () => {
    const first = composeStored(aSwarmCluster(), undefined, now);
    const same = composeStored(withField(aSwarmCluster(), 'metadata.labels', { a: 'b' }) as SwarmCluster, first, () => 0);
    expect(same.metadata.generation).toBe(1);
    const changed = composeStored(withField(aSwarmCluster(), 'spec.workers.count', 9) as SwarmCluster, first, () => 0);
    expect(changed.metadata).toMatchObject({ generation: 2, uid: first.metadata.uid, creationTimestamp: first.metadata.creationTimestamp });
  });

  it('ignores store-owned fields and status in the incoming document', () => {
    const first = composeStored(aSwarmCluster(), undefined, now);
    const incoming = {
      ...aSwarmCluster({ metadata: { generation: 40, uid: 'forged', resourceVersion: '9' } }),
      status: { phase: 'Ready' as const },
    };
    const c = composeStored(incoming, first, now);
    expect(c.metadata.generation).toBe(1);
    expect(c.metadata.uid).toBe(first.metadata.uid);
    expect(c.metadata.resourceVersion).toBeUndefined();
    expect('status' in c).toBe(false);
  });
});

describe('reading the keys', () => {
  const good = JSON.stringify(composeStored(aSwarmCluster(), undefined, now));
  it('prefers last-good and reports an invalid spec key', () => {
    const r = raw({ lastGoodText: good, specText: 'spec: [' });
    expect(inForce(r)?.spec.managers.count).toBe(3);
    expect(specErrorOf(r)).toMatch(/^spec key of prod: YAML syntax error at line 1/);
    expect(interpret(r)).toMatchObject({
      specRevision: '5',
      specError: expect.any(String),
      cluster: { metadata: { resourceVersion: '5' } },
    });
  });

  it('takes a valid spec key when nothing was promoted yet, and refuses a name that does not match the key', () => {
    expect(inForce(raw({ specText: JSON.stringify(aSwarmCluster()) }))?.metadata.generation).toBe(1);
    const other = raw({ specText: JSON.stringify(aSwarmCluster({ name: 'other' })) });
    expect(inForce(other)).toBeUndefined();
    expect(specErrorOf(other)).toMatch(/metadata.name is "other"; it must match the key's cluster name "prod"/);
    expect(interpret(other)).toBeUndefined();
  });
});

describe('readStoredDoc', () => {
  it('parses and validates a text once: the same text gives the same reading, a new one a new reading', () => {
    const text = JSON.stringify(aSwarmCluster());
    const first = readStoredDoc('prod', 'spec', text);
    expect(first.cluster?.metadata.name).toBe('prod');
    expect(readStoredDoc('prod', 'spec', `${text}`)).toBe(first);
    expect(readStoredDoc('prod', 'last-good', text)).not.toBe(first);
    const changed = readStoredDoc('prod', 'spec', JSON.stringify(aSwarmCluster({ name: 'other' })));
    expect(changed).not.toBe(first);
    expect(changed.cluster?.metadata.name).toBe('other');
  });

  it('refuses the 10,000-label spec in milliseconds, naming the limit', () => {
    const labels = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, 'v']));
    const started = performance.now();
    const reading = readStoredDoc('prod', 'spec', JSON.stringify({ ...aSwarmCluster(), metadata: { name: 'prod', labels } }));
    expect(performance.now() - started).toBeLessThan(500);
    expect(reading.error).toMatch(/^spec key of prod: has a mapping or list of more than 256 entries \(limit maxCollectionEntries 256/);
    const sixtyFive = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    expect(
      readStoredDoc('prod', 'spec', JSON.stringify({ ...aSwarmCluster(), metadata: { name: 'prod', labels: sixtyFive } })).error,
    ).toMatch(/metadata\.labels/);
  });
});
