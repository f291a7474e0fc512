import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { asDocument, FINALIZER, KubeClusterStore, ORPHAN_ANNOTATION } from './kube-store.ts';
import type { KubeObject, SwarmClusterApi } from './swarmcluster-api.ts';

// interpret() reads objects as the API server returns them; no call is made.
const unused = new Proxy({}, { get: () => () => Promise.reject(new Error('no API calls in these tests')) }) as SwarmClusterApi;
const store = (): KubeClusterStore => new KubeClusterStore(new KubeConfig(), unused);

function anObject(
  o: { workers?: unknown; deletion?: boolean; finalizers?: string[]; annotations?: Record<string, string>; generation?: number } = {},
): KubeObject {
  return {
    apiVersion: 'swarmkeeper.dev/v1alpha1',
    kind: 'SwarmCluster',
    metadata: {
      name: 'prod',
      uid: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
      resourceVersion: '42',
      generation: o.generation ?? 1,
      creationTimestamp: '2026-01-01T00:00:00Z',
      ...(o.deletion ? { deletionTimestamp: '2026-01-02T00:00:00Z' } : {}),
      finalizers: o.finalizers ?? [FINALIZER],
      ...(o.annotations ? { annotations: o.annotations } : {}),
    },
    spec: { managers: { count: 1 }, workers: { count: o.workers ?? 2 }, provider: { local: {} } },
  };
}

describe('KubeClusterStore.interpret', () => {
  it('takes the object as the spec in force, with its generation and resourceVersion', () => {
    const c = store().interpret(anObject({ generation: 3 }));
    expect(c?.cluster.spec.workers.count).toBe(2);
    expect(c?.cluster.metadata.generation).toBe(3);
    expect(c?.specRevision).toBe('42');
    expect(c?.specError).toBeUndefined();
  });

  it('keeps the last valid spec in force when swarmkeeper refuses a change, with the error', () => {
    const s = store();
    s.interpret(anObject());
    const c = s.interpret(anObject({ workers: -1, generation: 2 }));
    expect(c?.cluster.spec.workers.count).toBe(2);
    expect(c?.specError).toContain('spec.workers.count');
    expect(store().interpret(anObject({ workers: -1 }))).toBeUndefined();
    expect(store().refusal(anObject({ workers: -1 }))).toContain('spec.workers.count');
  });

  it('reports a deleted object carrying the finalizer with its deletionTimestamp (the cascade), and nothing without it or with the orphan annotation', () => {
    expect(store().interpret(anObject({ deletion: true }))?.cluster.metadata.deletionTimestamp).toBe('2026-01-02T00:00:00Z');
    expect(store().interpret(anObject({ deletion: true, finalizers: [] }))).toBeUndefined();
    expect(store().interpret(anObject({ deletion: true, annotations: { [ORPHAN_ANNOTATION]: 'true' } }))).toBeUndefined();
    const s = store();
    s.interpret(anObject());
    expect(s.interpret(anObject({ deletion: true, workers: -1 }))?.cluster.metadata.deletionTimestamp).toBe('2026-01-02T00:00:00Z');
  });

  it("ignores kubectl's last-applied annotation, which may be longer than an annotation swarmkeeper accepts", () => {
    const long = { 'kubectl.kubernetes.io/last-applied-configuration': 'x'.repeat(10_000), team: 'ops' };
    expect((asDocument(anObject({ annotations: long })).metadata as { annotations?: unknown }).annotations).toEqual({ team: 'ops' });
    expect(store().interpret(anObject({ annotations: long }))?.specError).toBeUndefined();
  });

  it('names the object by uid for Events', () => {
    const s = store();
    expect(s.involved('prod')).toEqual({ name: 'prod' });
    s.interpret(anObject());
    expect(s.involved('prod')).toEqual({ name: 'prod', uid: '7c9e6679-7425-40de-944b-e07fc1f90ae7' });
  });
});
