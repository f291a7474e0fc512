// The "CRD and validator agree" corpus: SwarmCluster documents as a user writes them
// (YAML text, or JSON, which is YAML too), each with the verdict swarmkeeper gives.
// src/spec/crd.test.ts checks swarmkeeper's verdicts and the CRD's shape;
// test/integration/kube-crd-corpus.test.ts sends every document to a real API server
// and requires the same verdict, or a difference `swarmkeeper validate` explains.
import { aSwarmCluster, anEc2Cluster, withField } from './spec-fixtures.ts';

export interface CorpusCase {
  readonly name: string;
  readonly text: string;
  readonly valid: boolean;
}

const json = (doc: unknown): string => JSON.stringify(doc, null, 2);
const ok = (name: string, doc: unknown): CorpusCase => ({ name, text: json(doc), valid: true });
const bad = (name: string, doc: unknown): CorpusCase => ({ name, text: json(doc), valid: false });
const okYaml = (name: string, text: string): CorpusCase => ({ name, text, valid: true });
const badYaml = (name: string, text: string): CorpusCase => ({ name, text, valid: false });
const set = (path: string, value: unknown, base: unknown = aSwarmCluster()): Record<string, unknown> => withField(base, path, value);

const head = 'apiVersion: swarmkeeper.dev/v1alpha1\nkind: SwarmCluster\nmetadata:\n  name: prod\n';
const yamlSpec = (lines: string): string =>
  `${head}spec:\n  managers:\n    count: 3\n  workers:\n    count: 2\n  provider:\n    local: {}\n${lines}`;
const status = {
  observedGeneration: 2,
  phase: 'Ready',
  managers: { desired: 3, ready: 3 },
  workers: { desired: 2, ready: 1 },
  conditions: [{ type: 'Ready', status: 'True', reason: 'Converged', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }],
  nodes: [{ instanceId: 'i-1', role: 'manager', instanceState: 'running', healthy: true }],
};

export const VALID_DOCS: readonly CorpusCase[] = [
  ok('minimal local', aSwarmCluster()),
  ok(
    'ec2 with everything',
    anEc2Cluster({
      spec: {
        rollout: { maxSurge: 2, maxUnavailable: 0, drainTimeoutSeconds: 60 },
        healing: {
          enabled: true,
          maxUnhealthy: '40%',
          unhealthyAfterSeconds: 30,
          nodeStartupTimeoutSeconds: 300,
          minHealthySeconds: 0,
          maxRetriesPerNode: 2,
        },
        paused: true,
      },
    }),
  ),
  ok('maxUnhealthy as a count', set('spec.healing.maxUnhealthy', 1)),
  ok('maxUnhealthy 0', set('spec.healing.maxUnhealthy', 0)),
  ok('maxUnhealthy "0%"', set('spec.healing.maxUnhealthy', '0%')),
  ok('maxUnhealthy "100%"', set('spec.healing.maxUnhealthy', '100%')),
  ok('maxUnhealthy equal to the cluster size', set('spec.healing.maxUnhealthy', 5)),
  ok('7 managers, 0 workers', set('spec.workers.count', 0, set('spec.managers.count', 7))),
  ok('1 manager', set('spec.managers.count', 1)),
  ok('10000 workers', set('spec.workers.count', 10000)),
  ok(
    'units',
    set('spec.managers.units', [
      {
        name: 'vault.service',
        command: 'start',
        enable: true,
        content: '[Unit]\n\n[Install]\nWantedBy=multi-user.target\n',
        dropIns: [{ name: '10-env.conf', content: '[Service]\n' }],
      },
    ]),
  ),
  ok(
    'worker units of every kind',
    set('spec.workers.units', [{ name: 'a.timer' }, { name: 'b.socket' }, { name: 'c@1.service', command: 'restart' }]),
  ),
  ok('sim provider', set('spec.provider', { sim: { seed: 4, bootDelaySeconds: 2.5 } })),
  ok('sim zones', set('spec.provider', { sim: { zones: ['a', 'b'] } })),
  ok('local provider with address block', set('spec.provider', { local: { addressBlock: 99, baseDir: '/tmp/x' } })),
  ok('rollout maxSurge 0', set('spec.rollout', { maxSurge: 0, maxUnavailable: 1 })),
  ok('ec2 tag of 127 characters', set('spec.provider.ec2.tags', { ['k'.repeat(127)]: 'v' }, anEc2Cluster())),
  ok(
    'ec2 40 tags',
    set('spec.provider.ec2.tags', Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`t${i}`, 'v'])), anEc2Cluster()),
  ),
  ok('ec2 endpoint', set('spec.provider.ec2.endpoint', 'http://127.0.0.1:5000', anEc2Cluster())),
  ok(
    'labels and annotations',
    set('metadata', {
      name: 'prod',
      labels: { 'app.kubernetes.io/name': 'swarm', tier: '' },
      annotations: { 'swarmkeeper.dev/note': 'any text: at all' },
    }),
  ),
  ok('63-character label value', set('metadata.labels', { team: 'a'.repeat(63) })),
  ok('finalizers', set('metadata.finalizers', ['swarmkeeper.dev/cleanup'])),
  ok('namespace (dropped: the resource is cluster-scoped)', set('metadata.namespace', 'default')),
  ok('generation set by hand (the server sets its own)', set('metadata.generation', 7)),
  ok('RFC 3339 creationTimestamp', set('metadata.creationTimestamp', '2026-01-01T00:00:00Z')),
  ok('name of 63 characters', set('metadata.name', 'a'.repeat(63))),
  ok('with status (dropped on create)', { ...aSwarmCluster(), status }),
  ok('with a bad phase in status (dropped on create, values unjudged)', { ...aSwarmCluster(), status: { phase: 'Happy' } }),
  okYaml('paused: null (pruned)', yamlSpec('  paused: null\n')),
  okYaml('healing: null (pruned)', yamlSpec('  healing: null\n')),
  okYaml('paused: true in YAML', yamlSpec('  paused: true\n')),
  okYaml('maxUnhealthy "40%" in YAML', yamlSpec('  healing:\n    maxUnhealthy: "40%"\n')),
  okYaml('maxUnhealthy 40% unquoted', yamlSpec('  healing:\n    maxUnhealthy: 40%\n')),
  okYaml('count 010: 10 to swarmkeeper, octal 8 to kubectl', yamlSpec('').replace('count: 2', 'count: 010')),
  okYaml('count 0x3 (both read 3)', yamlSpec('').replace('count: 2', 'count: 0x3')),
  okYaml('comments and flow style', `${head}spec: {managers: {count: 5}, workers: {count: 1}, provider: {sim: {}}} # five managers\n`),
  okYaml('instanceType yes quoted', yamlSpec('').replace('count: 2', 'count: 2\n    instanceType: "yes"')),
  okYaml(
    'tag value quoted date',
    `${head}spec:\n  managers: {count: 1}\n  workers: {count: 0}\n  provider:\n    ec2:\n      region: eu-west-1\n      imageId: ami-0123456789abcdef0\n      subnetIds: [subnet-0123abcd]\n      securityGroupIds: [sg-0123abcd]\n      tags: {since: "2026-01-01"}\n`,
  ),
];

export const INVALID_DOCS: readonly CorpusCase[] = [
  bad('even managers', set('spec.managers.count', 2)),
  bad('9 managers', set('spec.managers.count', 9)),
  bad('0 managers', set('spec.managers.count', 0)),
  bad('negative workers', set('spec.workers.count', -1)),
  bad('10001 workers', set('spec.workers.count', 10001)),
  bad('fractional workers', set('spec.workers.count', 2.5)),
  bad('string workers', set('spec.workers.count', '2')),
  bad('unknown spec field', set('spec.extra', true)),
  bad('unknown nested field', set('spec.provider.ec2.zone', 'a', anEc2Cluster())),
  bad('unknown top-level field', { ...aSwarmCluster(), extra: 1 }),
  bad('missing spec', set('spec', undefined)),
  bad('missing workers', set('spec.workers', undefined)),
  bad('missing managers count', set('spec.managers', {})),
  bad('no provider block', set('spec.provider', {})),
  bad('two provider blocks', set('spec.provider', { local: {}, sim: {} })),
  bad('unknown provider', set('spec.provider', { gce: {} })),
  bad('ec2 missing imageId', set('spec.provider.ec2.imageId', undefined, anEc2Cluster())),
  bad('ec2 bad region', set('spec.provider.ec2.region', 'Europe', anEc2Cluster())),
  bad('ec2 bad ami', set('spec.provider.ec2.imageId', 'ami-xyz', anEc2Cluster())),
  bad('ec2 no subnets', set('spec.provider.ec2.subnetIds', [], anEc2Cluster())),
  bad(
    'ec2 41 tags',
    set('spec.provider.ec2.tags', Object.fromEntries(Array.from({ length: 41 }, (_, i) => [`t${i}`, 'v'])), anEc2Cluster()),
  ),
  bad('ec2 tag value of 256 characters', set('spec.provider.ec2.tags', { a: 'v'.repeat(256) }, anEc2Cluster())),
  bad('ec2 tag key of 128 characters', set('spec.provider.ec2.tags', { ['k'.repeat(128)]: 'v' }, anEc2Cluster())),
  bad('ec2 reserved tag key', set('spec.provider.ec2.tags', { 'aws:cf': 'x' }, anEc2Cluster())),
  bad('ec2 endpoint not a URL', set('spec.provider.ec2.endpoint', 'ftp://x', anEc2Cluster())),
  bad('maxUnhealthy 101%', set('spec.healing.maxUnhealthy', '101%')),
  bad('maxUnhealthy "abc"', set('spec.healing.maxUnhealthy', 'abc')),
  bad('maxUnhealthy "3" (a string count)', set('spec.healing.maxUnhealthy', '3')),
  bad('maxUnhealthy -1', set('spec.healing.maxUnhealthy', -1)),
  bad('maxUnhealthy 1.5', set('spec.healing.maxUnhealthy', 1.5)),
  bad('maxUnhealthy true', set('spec.healing.maxUnhealthy', true)),
  bad('maxUnhealthy count above the cluster', set('spec.healing.maxUnhealthy', 6)),
  bad('startup timeout below 10', set('spec.healing.nodeStartupTimeoutSeconds', 5)),
  bad('unhealthyAfterSeconds 0', set('spec.healing.unhealthyAfterSeconds', 0)),
  bad('rollout cannot progress', set('spec.rollout', { maxSurge: 0, maxUnavailable: 0 })),
  bad('maxSurge 101', set('spec.rollout', { maxSurge: 101 })),
  bad('bad unit command', set('spec.workers.units', [{ name: 'a.service', command: 'reload' }])),
  bad('bad unit name', set('spec.workers.units', [{ name: 'a.exe' }])),
  bad('duplicate unit names', set('spec.workers.units', [{ name: 'a.service' }, { name: 'a.service' }])),
  bad(
    'duplicate drop-in names',
    set('spec.managers.units', [
      {
        name: 'a.service',
        dropIns: [
          { name: 'x.conf', content: '' },
          { name: 'x.conf', content: '' },
        ],
      },
    ]),
  ),
  bad(
    '33 units',
    set(
      'spec.workers.units',
      Array.from({ length: 33 }, (_, i) => ({ name: `u${i}.service` })),
    ),
  ),
  bad('unit content too long', set('spec.workers.units', [{ name: 'a.service', content: 'x'.repeat(8193) }])),
  bad('paused a string', set('spec.paused', 'true')),
  bad('bad name', set('metadata.name', 'UPPER')),
  bad('name of 64 characters', set('metadata.name', 'a'.repeat(64))),
  bad('label key "bad key!"', set('metadata.labels', { 'bad key!': 'x' })),
  bad('64-character label value', set('metadata.labels', { team: 'a'.repeat(64) })),
  bad('label value with a space', set('metadata.labels', { team: 'a b' })),
  bad('label key with an uppercase prefix', set('metadata.labels', { 'Example.com/x': 'y' })),
  bad('annotation key with a space', set('metadata.annotations', { 'my note': 'x' })),
  bad('finalizer with a space', set('metadata.finalizers', ['a b'])),
  bad('creationTimestamp: yesterday', set('metadata.creationTimestamp', 'yesterday')),
  bad('unknown status field', { ...aSwarmCluster(), status: { foo: 1 } }),
  bad('wrong kind', { ...aSwarmCluster(), kind: 'Deployment' }),
  bad('wrong apiVersion', { ...aSwarmCluster(), apiVersion: 'swarmkeeper.dev/v1' }),
  bad('not an object', ['a list']),
  badYaml('paused: yes (a string to swarmkeeper, true to kubectl)', yamlSpec('  paused: yes\n')),
  badYaml('enabled: on (a string to swarmkeeper, true to kubectl)', yamlSpec('  healing:\n    enabled: on\n')),
  badYaml('count: 1_000 (a string to swarmkeeper, 1000 to kubectl)', yamlSpec('').replace('count: 2', 'count: 1_000')),
  badYaml('paused: y', yamlSpec('  paused: y\n')),
  badYaml('paused: off', yamlSpec('  paused: off\n')),
  badYaml('maxUnhealthy: 0o10 (8 to swarmkeeper, a string to kubectl)', yamlSpec('  healing:\n    maxUnhealthy: 0o10\n')),
  badYaml('managers count as a quoted string', yamlSpec('').replace('count: 3', 'count: "3"')),
];

export const CORPUS: readonly CorpusCase[] = [...VALID_DOCS, ...INVALID_DOCS];
