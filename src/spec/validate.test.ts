import { describe, expect, it } from 'vitest';
import { aSwarmCluster, anEc2Cluster, withField } from '../../test/support/spec-fixtures.ts';
import { assertValidCluster, dottedPath, validateCluster } from './validate.ts';
import { isSwarmkeeperError } from '../errors.ts';

function errorsOf(doc: unknown): Array<{ path: string; message: string }> {
  const r = validateCluster(doc);
  return r.ok ? [] : [...r.errors];
}

describe('validateCluster', () => {
  it('accepts the builders', () => {
    expect(validateCluster(aSwarmCluster()).ok).toBe(true);
    expect(validateCluster(anEc2Cluster()).ok).toBe(true);
  });

  // One row per rule: the field path and words of the message the user sees.
  const cases: Array<[string, unknown, string, RegExp]> = [
    [
      'even manager count',
      withField(aSwarmCluster(), 'spec.managers.count', 4),
      'spec.managers.count',
      /must be one of 1, 3, 5, 7 \(odd, at most 7\), got 4/,
    ],
    ['manager count above 7', withField(aSwarmCluster(), 'spec.managers.count', 9), 'spec.managers.count', /one of 1, 3, 5, 7/],
    ['negative worker count', withField(aSwarmCluster(), 'spec.workers.count', -2), 'spec.workers.count', /must be at least 0, got -2/],
    [
      'non-integer worker count',
      withField(aSwarmCluster(), 'spec.workers.count', 1.5),
      'spec.workers.count',
      /must be a whole number, got 1.5/,
    ],
    ['worker count as a string', withField(aSwarmCluster(), 'spec.workers.count', '3'), 'spec.workers.count', /whole number, got "3"/],
    [
      'unknown field',
      withField(aSwarmCluster(), 'spec.managers.size', 3),
      'spec.managers.size',
      /unknown field \(allowed here: count, instanceType, units\)/,
    ],
    ['unknown top-level field', withField(aSwarmCluster(), 'specs', {}), 'specs', /unknown field/],
    ['missing managers', withField(aSwarmCluster(), 'spec.managers', undefined), 'spec.managers', /is required/],
    ['missing provider', withField(aSwarmCluster(), 'spec.provider', undefined), 'spec.provider', /is required/],
    [
      'empty provider',
      withField(aSwarmCluster(), 'spec.provider', {}),
      'spec.provider',
      /exactly one provider: ec2, local or sim \(has 0\)/,
    ],
    ['two providers', withField(aSwarmCluster(), 'spec.provider', { local: {}, sim: {} }), 'spec.provider', /exactly one provider/],
    ['ec2 without region', withField(anEc2Cluster(), 'spec.provider.ec2.region', undefined), 'spec.provider.ec2.region', /is required/],
    ['ec2 without subnets', withField(anEc2Cluster(), 'spec.provider.ec2.subnetIds', []), 'spec.provider.ec2.subnetIds', /at least 1 item/],
    ['bad AMI', withField(anEc2Cluster(), 'spec.provider.ec2.imageId', 'ubuntu'), 'spec.provider.ec2.imageId', /an AMI id like/],
    [
      'maxUnhealthy above 100%',
      withField(aSwarmCluster(), 'spec.healing.maxUnhealthy', '140%'),
      'spec.healing.maxUnhealthy',
      /count .* or a percent from "0%" to "100%", got "140%"/,
    ],
    ['maxUnhealthy negative', withField(aSwarmCluster(), 'spec.healing.maxUnhealthy', -1), 'spec.healing.maxUnhealthy', /count|percent/],
    [
      'maxUnhealthy count above the cluster',
      withField(aSwarmCluster(), 'spec.healing.maxUnhealthy', 40),
      'spec.healing.maxUnhealthy',
      /at most 5 \(managers.count \+ workers.count\)/,
    ],
    [
      'rollout that cannot progress',
      withField(aSwarmCluster(), 'spec.rollout', { maxSurge: 0, maxUnavailable: 0 }),
      'spec.rollout.maxUnavailable',
      /cannot both be 0/,
    ],
    ['wrong type for paused', withField(aSwarmCluster(), 'spec.paused', 'yes'), 'spec.paused', /must be true or false, got "yes"/],
    ['bad name', withField(aSwarmCluster(), 'metadata.name', 'Prod_1'), 'metadata.name', /DNS label/],
    [
      'label value not a string',
      withField(aSwarmCluster(), 'metadata.labels', { 'app.kubernetes.io/name': 3 }),
      'metadata.labels["app.kubernetes.io/name"]',
      /must be a string, got 3/,
    ],
    [
      'agent image on :latest',
      withField(anEc2Cluster(), 'spec.provider.ec2.agentImage', 'registry.example.com/swarmkeeper:latest'),
      'spec.provider.ec2.agentImage',
      /pinned to a version tag or a sha256 digest/,
    ],
    [
      'agent image without a tag',
      withField(anEc2Cluster(), 'spec.provider.ec2.agentImage', 'registry.example.com:5000/swarmkeeper'),
      'spec.provider.ec2.agentImage',
      /not :latest or untagged/,
    ],
    [
      'agent image that is no reference',
      withField(anEc2Cluster(), 'spec.provider.ec2.agentImage', 'Swarm Keeper'),
      'spec.provider.ec2.agentImage',
      /must be a string matching/,
    ],
    [
      'unit enabled without [Install]',
      withField(aSwarmCluster(), 'spec.workers.units', [
        { name: 'once.service', enable: true, content: '[Service]\nExecStart=/bin/true\n' },
      ]),
      'spec.workers.units[0].enable',
      /needs an \[Install\] section/,
    ],
    [
      'bad subnet in a list',
      withField(anEc2Cluster(), 'spec.provider.ec2.subnetIds', ['subnet-0123abcd', 'x']),
      'spec.provider.ec2.subnetIds[1]',
      /a subnet id like/,
    ],
    [
      'reserved tag key',
      withField(anEc2Cluster(), 'spec.provider.ec2.tags', { 'aws:x': 'y' }),
      'spec.provider.ec2.tags["aws:x"]',
      /reserved by AWS/,
    ],
    ['empty tag key', withField(anEc2Cluster(), 'spec.provider.ec2.tags', { '': 'y' }), 'spec.provider.ec2.tags[""]', /1-127 characters/],
    [
      'duplicate unit names',
      withField(aSwarmCluster(), 'spec.managers.units', [{ name: 'vault.service' }, { name: 'vault.service' }]),
      'spec.managers.units[1].name',
      /duplicate unit name "vault.service" \(already at spec.managers.units\[0\]\)/,
    ],
    [
      'bad unit name',
      withField(aSwarmCluster(), 'spec.workers.units', [{ name: 'vault' }]),
      'spec.workers.units[0].name',
      /systemd unit file name/,
    ],
  ];

  it.each(cases)('%s', (_title, doc, path, message) => {
    const errors = errorsOf(doc);
    const hit = errors.find((e) => e.path === path);
    expect(hit, JSON.stringify(errors)).toBeDefined();
    expect(hit?.message).toMatch(message);
  });

  it('accepts a pinned agent image in a registry with a port, by tag or digest', () => {
    for (const ref of ['registry.example.com:5000/team/swarmkeeper:0.1.0', `swarmkeeper@sha256:${'0'.repeat(64)}`]) {
      expect(errorsOf(withField(anEc2Cluster(), 'spec.provider.ec2.agentImage', ref)), ref).toEqual([]);
    }
  });

  it('names documents that are not a SwarmCluster', () => {
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: {} };
    expect(errorsOf(deployment)).toEqual([
      {
        path: 'apiVersion',
        message: 'must be "swarmkeeper.dev/v1alpha1": this document is kind Deployment (apiVersion apps/v1), not a SwarmCluster',
      },
      { path: 'kind', message: 'must be "SwarmCluster": this document is kind Deployment (apiVersion apps/v1), not a SwarmCluster' },
    ]);
    expect(errorsOf({ a: 1 })[0]?.message).toMatch(/not a SwarmCluster document/);
    expect(errorsOf('text')[0]).toEqual({ path: '(document)', message: expect.stringMatching(/must be a mapping .* got "text"/) });
    expect(errorsOf(null)[0]?.path).toBe('(document)');
  });

  it('reports every problem at once, one per field', () => {
    const doc = withField(withField(aSwarmCluster(), 'spec.managers.count', 2), 'spec.workers.count', -1);
    expect(errorsOf(doc).map((e) => e.path)).toEqual(['spec.managers.count', 'spec.workers.count']);
  });

  it('throws SpecInvalid naming the cluster, the source and each field', () => {
    try {
      assertValidCluster(withField(aSwarmCluster(), 'spec.managers.count', 4), 'cluster.yaml');
      expect.fail('should throw');
    } catch (err) {
      expect(isSwarmkeeperError(err, 'SpecInvalid')).toBe(true);
      expect((err as Error).message).toBe(
        'cluster.yaml: SwarmCluster "prod" is invalid:\n  * spec.managers.count: must be one of 1, 3, 5, 7 (odd, at most 7), got 4',
      );
    }
  });
});

describe('dottedPath', () => {
  it('turns JSON pointers into field paths', () => {
    const doc = { spec: { ids: ['a', 'b'], 'a/b': { x: 1 } } };
    expect(dottedPath('/spec/ids/1', doc)).toBe('spec.ids[1]');
    expect(dottedPath('/spec/a~1b/x', doc)).toBe('spec["a/b"].x');
    expect(dottedPath('', doc)).toBe('(document)');
  });
});
