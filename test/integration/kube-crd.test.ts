// crds/swarmcluster.yaml against a real kube-apiserver: it is accepted and Established,
// its printer columns and status subresource work, its CEL rules refuse with their
// messages, and every document of the "CRD and validator agree" corpus gets the same
// verdict from the API server (through kubectl, which reads YAML 1.1) as from
// swarmkeeper, or a difference `swarmkeeper validate` warns about. swarmkeeper's own
// YAML output goes through kubectl unchanged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-apiserver.ts';
import { CORPUS, type CorpusCase } from '../support/crd-corpus.ts';
import { aSwarmCluster, anEc2Cluster, withField } from '../support/spec-fixtures.ts';
import { parseClusterText, formatCluster } from '../../src/spec/codec.ts';
import { validateCluster } from '../../src/spec/validate.ts';
import { kubectlReadings } from '../../src/spec/yaml-dialects.ts';
import { CRD_NAME } from '../../src/spec/crd.ts';

const CRD_FILE = new URL('../../crds/swarmcluster.yaml', import.meta.url).pathname;
let kube: KubeApiServer;

beforeAll(async () => {
  kube = await startKubeApiServer();
  await kube.kubectlOk(['apply', '--server-side', '-f', CRD_FILE]);
  await kube.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', `crd/${CRD_NAME}`]);
});

afterAll(async () => {
  await kube?.stop();
});

describe('the SwarmCluster CRD on a real API server', () => {
  it('is Established with the status subresource and the printer columns', async () => {
    const crd = JSON.parse(await kube.kubectlOk(['get', `crd/${CRD_NAME}`, '-o', 'json'])) as {
      status: { conditions: Array<{ type: string; status: string }> };
      spec: { versions: Array<{ subresources: unknown }> };
    };
    expect(crd.status.conditions).toContainEqual(expect.objectContaining({ type: 'Established', status: 'True' }));
    expect(crd.status.conditions).toContainEqual(expect.objectContaining({ type: 'NamesAccepted', status: 'True' }));
    expect(crd.spec.versions[0]?.subresources).toEqual({ status: {} });

    await kube.kubectlOk(['create', '-f', '-'], JSON.stringify(aSwarmCluster({ name: 'columns' })));
    const status = { phase: 'Ready', observedGeneration: 1, managers: { desired: 3, ready: 3 }, workers: { desired: 2, ready: 2 } };
    // The main resource ignores status; only the status subresource writes it.
    await kube.kubectlOk(['patch', 'swarmcluster/columns', '--type=merge', '-p', JSON.stringify({ status: { phase: 'Frozen' } })]);
    expect(await kube.kubectlOk(['get', 'swarmcluster/columns', '-o', 'jsonpath={.status.phase}'])).toBe('');
    await kube.kubectlOk(['patch', 'swarmcluster/columns', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
    const table = await kube.kubectlOk(['get', 'swarmclusters']);
    const [header, row] = table.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual(['NAME', 'MANAGERS', 'MANAGERS-READY', 'WORKERS', 'WORKERS-READY', 'PHASE', 'AGE']);
    expect(row?.split(/\s+/).slice(0, 6)).toEqual(['columns', '3', '3', '2', '2', 'Ready']);
    expect(await kube.kubectlOk(['get', 'swc/columns', '-o', 'name'])).toBe('swarmcluster.swarmkeeper.dev/columns\n');
  });

  it.each([
    [
      'maxUnhealthy -1',
      withField(aSwarmCluster(), 'spec.healing.maxUnhealthy', -1),
      'must be a whole number >= 0 or a string matching ^(100|[1-9]?[0-9])%$',
    ],
    [
      'maxUnhealthy 101%',
      withField(aSwarmCluster(), 'spec.healing.maxUnhealthy', '101%'),
      'must be a whole number >= 0 or a string matching ^(100|[1-9]?[0-9])%$',
    ],
    [
      'maxUnhealthy above the cluster',
      withField(aSwarmCluster(), 'spec.healing.maxUnhealthy', 6),
      'healing.maxUnhealthy as a count must be at most managers.count + workers.count',
    ],
    [
      'rollout cannot progress',
      withField(aSwarmCluster(), 'spec.rollout', { maxSurge: 0, maxUnavailable: 0 }),
      'spec.rollout: Invalid value: "object": maxSurge and maxUnavailable cannot both be 0',
    ],
    ['reserved tag key', withField(anEc2Cluster(), 'spec.provider.ec2.tags', { 'aws:cf': 'x' }), 'must not start with "aws:"'],
    [
      'duplicate unit names',
      withField(aSwarmCluster(), 'spec.workers.units', [{ name: 'a.service' }, { name: 'a.service' }]),
      'spec.workers.units[1]: Duplicate value',
    ],
  ])('refuses %s with the CEL or list-map message', async (_t, doc, message) => {
    const r = await kube.kubectl(['create', '--dry-run=server', '-f', '-'], JSON.stringify(doc));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toMatch(/spec(\.[\w.[\]]+)?: (Invalid value|Duplicate value)/);
  });

  it('takes swarmkeeper YAML output back through kubectl unchanged, quoting what YAML 1.1 would misread', async () => {
    const doc = withField(anEc2Cluster({ name: 'roundtrip' }), 'spec.provider.ec2.tags', {
      a: 'yes',
      b: 'on',
      c: '010',
      d: '1_000',
      e: '2026-01-01',
      f: 'y',
      g: 'null',
      h: '0o10',
      i: '1e3',
    });
    const text = formatCluster(withField(doc, 'spec.managers.instanceType', 'no'), 'yaml');
    expect(kubectlReadings(text)).toEqual([]);
    const created = JSON.parse(await kube.kubectlOk(['create', '-o', 'json', '-f', '-'], text)) as { spec: unknown };
    expect(created.spec).toEqual((parseClusterText(text, 'output') as { spec: unknown }).spec);
    expect(created.spec).toEqual((parse(text) as { spec: unknown }).spec);
  });
});

interface Verdicts {
  readonly name: string;
  readonly swarmkeeper: boolean;
  readonly server: boolean;
  readonly sameValues: boolean;
  readonly explained: boolean;
  readonly serverError: string;
}

describe('the corpus through the real API server', () => {
  it(`gives every document the same verdict as swarmkeeper, or one that validate explains (${CORPUS.length} documents)`, async () => {
    const verdicts = await mapLimit(CORPUS, 4, (c) => judge(c));
    const disagree = verdicts.filter((v) => v.swarmkeeper !== v.server || !v.sameValues);
    const unexplained = disagree.filter((v) => !v.explained);
    const summary = `corpus: ${verdicts.length} documents, ${verdicts.length - disagree.length} same verdict and values, ${disagree.length - unexplained.length} different but explained by validate, ${unexplained.length} unexplained`;
    process.stderr.write(`${summary}\n`);
    expect(unexplained, `${summary}\n${JSON.stringify(unexplained, null, 2)}`).toEqual([]);
    // The corpus' own expectations of swarmkeeper hold too.
    for (const c of CORPUS) expect(verdicts.find((v) => v.name === c.name)?.swarmkeeper, c.name).toBe(c.valid);
  });
});

async function judge(c: CorpusCase): Promise<Verdicts> {
  let ours: { ok: boolean; spec?: unknown } = { ok: false };
  try {
    const r = validateCluster(parseClusterText(c.text, 'corpus'));
    ours = r.ok ? { ok: true, spec: r.cluster.spec } : { ok: false };
  } catch {
    ours = { ok: false };
  }
  const r = await kube.kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], c.text);
  const server = r.code === 0;
  const serverSpec = server ? (JSON.parse(r.stdout) as { spec: unknown }).spec : undefined;
  const sameValues = !(ours.ok && server) || JSON.stringify(sortKeys(ours.spec)) === JSON.stringify(sortKeys(serverSpec));
  return {
    name: c.name,
    swarmkeeper: ours.ok,
    server,
    sameValues,
    explained: kubectlReadings(c.text).length > 0,
    serverError: r.stderr.trim().slice(0, 400),
  };
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
  );
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    }),
  );
  return out;
}
