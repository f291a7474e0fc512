// The EC2 provider with the real @aws-sdk/client-ec2 against a real moto server.
// Where moto lacks an EC2 behaviour (ClientToken idempotency, eventual consistency,
// capacity and quota errors), the test wraps the real API and says "(fault injected)".
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DescribeInstanceAttributeCommand, DescribeInstancesCommand, EC2Client, type RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import { aLaunchRequest, anEc2Spec, motoEc2Spec, TEST_REGION, useTestCredentials } from '../support/ec2-fixtures.ts';
import { createEc2Client, sdkEc2Api, type Ec2Api } from '../../src/providers/ec2/ec2-api.ts';
import { Ec2Provider } from '../../src/providers/ec2/ec2-provider.ts';
import { TAGS } from '../../src/providers/ec2/ec2-instances.ts';
import { isSwarmkeeperError, SwarmkeeperError } from '../../src/errors.ts';
import type { Ec2ProviderSpec } from '../../src/spec/schema.ts';

useTestCredentials();

let moto: MotoServer;
let ec2: Ec2ProviderSpec;
let raw: EC2Client;
const providers: Ec2Provider[] = [];

function counted(): { api: Ec2Api; calls: string[] } {
  const calls: string[] = [];
  const api = sdkEc2Api(createEc2Client({ region: TEST_REGION, endpoint: moto.endpoint, onCommand: (n) => calls.push(n) }));
  return { api, calls };
}

function aProvider(o: Partial<ConstructorParameters<typeof Ec2Provider>[0]> = {}): Ec2Provider {
  const p = new Ec2Provider({ ec2, ...o });
  providers.push(p);
  return p;
}

beforeAll(async () => {
  // AMI validation on, so an unknown image id is refused the way EC2 refuses it.
  moto = await startMoto({ env: { MOTO_ENABLE_AMI_VALIDATION: 'true' } });
  raw = new EC2Client({ region: TEST_REGION, endpoint: moto.endpoint });
});

afterAll(async () => {
  raw?.destroy();
  await moto?.stop();
});

beforeEach(async () => {
  await moto.reset();
  ec2 = await motoEc2Spec(moto.endpoint);
});

afterEach(async () => {
  for (const p of providers.splice(0)) await p.close();
});

describe('Ec2Provider against moto', () => {
  it('launches a batch spread over the subnets, with tags and cloud-config user-data', async () => {
    const spec = anEc2Spec(ec2);
    const provider = aProvider();
    const req = aLaunchRequest(spec, { role: 'worker', count: 3 });
    const launched = await provider.launch(req);
    expect(launched).toHaveLength(3);
    expect(new Set(launched.map((i) => i.subnetId))).toEqual(new Set(ec2.subnetIds));
    const out = await raw.send(new DescribeInstancesCommand({ InstanceIds: launched.map((i) => i.id) }));
    const instances = (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
    for (const i of instances) {
      const tags = Object.fromEntries((i.Tags ?? []).map((t) => [t.Key, t.Value]));
      expect(tags).toMatchObject({
        [TAGS.cluster]: 'prod',
        [TAGS.role]: 'worker',
        [TAGS.configHash]: req.configHash,
        [TAGS.managedBy]: 'swarmkeeper',
        [TAGS.clientToken]: req.clientToken,
        team: 'platform',
      });
      expect(i.ImageId).toBe(ec2.imageId);
      expect(i.InstanceType).toBe('t3.large');
      expect(i.SecurityGroups?.map((g) => g.GroupId)).toEqual(ec2.securityGroupIds);
      expect(i.KeyName).toBe('ops');
      // IMDSv2 only, and one hop: the agent runs with host networking, so no container
      // on a bridge network can fetch the token (or anything else) from the metadata service.
      expect(i.MetadataOptions).toMatchObject({ HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 });
    }
    const attr = await raw.send(new DescribeInstanceAttributeCommand({ InstanceId: launched[0]?.id, Attribute: 'userData' }));
    const userData = Buffer.from(attr.UserData?.Value ?? '', 'base64').toString('utf8');
    expect(userData.split('\n')[0]).toBe('#cloud-config');
    expect(userData).toContain('node bootstrap');
  });

  it('lists by the cluster tag across several pages, and not other clusters', async () => {
    const { api, calls } = counted();
    const provider = aProvider({ api, pageSize: 5, statusIntervalMs: Number.POSITIVE_INFINITY });
    const spec = anEc2Spec(ec2);
    // moto pages by reservation: 12 launches make 12 reservations, 3 pages of 5.
    for (let n = 0; n < 12; n++) await provider.launch(aLaunchRequest(spec, { role: n < 3 ? 'manager' : 'worker' }));
    await provider.launch(aLaunchRequest(anEc2Spec(ec2, {}, 'other')));
    calls.length = 0;
    const fresh = aProvider({ api, pageSize: 5, statusIntervalMs: Number.POSITIVE_INFINITY });
    const listed = await fresh.list('prod');
    expect(listed).toHaveLength(12);
    expect(listed.filter((i) => i.role === 'manager')).toHaveLength(3);
    expect(calls).toEqual(['DescribeInstancesCommand', 'DescribeInstancesCommand', 'DescribeInstancesCommand']);
  });

  it('terminates, and the state transition is observed (running -> terminated, gone from list)', async () => {
    const provider = aProvider({ statusIntervalMs: 0 });
    const spec = anEc2Spec(ec2);
    const [inst] = await provider.launch(aLaunchRequest(spec, { role: 'manager' }));
    if (!inst) throw new Error('nothing launched');
    const before = await provider.list('prod');
    expect(before.find((i) => i.id === inst.id)?.state).toBe('running');
    expect(before.find((i) => i.id === inst.id)?.statusChecksOk).toBe(true);
    await provider.terminate('prod', inst.id);
    const state = async (): Promise<string | undefined> =>
      (await raw.send(new DescribeInstancesCommand({ InstanceIds: [inst.id] }))).Reservations?.[0]?.Instances?.[0]?.State?.Name;
    expect(await state()).toBe('terminated');
    expect((await provider.list('prod')).map((i) => i.id)).not.toContain(inst.id);
    // Gone already is the goal state.
    await provider.terminate('prod', inst.id);
    await aProvider().terminate('prod', inst.id);
  });

  it('never terminates an instance without the cluster tag', async () => {
    const other = await aProvider().launch(aLaunchRequest(anEc2Spec(ec2, {}, 'other')));
    await aProvider().terminate('prod', other[0]?.id ?? '');
    expect((await aProvider().list('other')).map((i) => i.id)).toEqual(other.map((i) => i.id));
  });

  it('is idempotent on the client token: the same launch twice yields the same instances', async () => {
    const spec = anEc2Spec(ec2);
    const req = aLaunchRequest(spec, { count: 2 });
    const { api, calls } = counted();
    const provider = aProvider({ api });
    const first = await provider.launch(req);
    const runs = calls.filter((c) => c === 'RunInstancesCommand').length;
    // Same provider (memory) and a restarted one (client-token tag): nothing new.
    const again = await provider.launch(req);
    const afterRestart = await aProvider({ api }).launch(req);
    expect(again.map((i) => i.id).sort()).toEqual(first.map((i) => i.id).sort());
    expect(afterRestart.map((i) => i.id).sort()).toEqual(first.map((i) => i.id).sort());
    expect(calls.filter((c) => c === 'RunInstancesCommand')).toHaveLength(runs);
    expect(await aProvider().list('prod')).toHaveLength(2);
  });

  it('maps an unknown AMI to SpecInvalid naming spec.provider.ec2.imageId and the EC2 code', async () => {
    const spec = anEc2Spec({ ...ec2, imageId: 'ami-0123456789abcdef0' });
    const err = await aProvider()
      .launch(aLaunchRequest(spec))
      .catch((e: unknown) => e);
    expect(isSwarmkeeperError(err, 'SpecInvalid')).toBe(true);
    expect((err as SwarmkeeperError).details).toMatchObject({
      field: 'spec.provider.ec2.imageId',
      ec2Code: expect.stringMatching(/^InvalidAMIID\./),
    });
    expect((err as Error).message).toMatch(/InvalidAMIID\.NotFound/);
  });

  it('maps an unknown subnet to SpecInvalid naming spec.provider.ec2.subnetIds', async () => {
    const spec = anEc2Spec({ ...ec2, subnetIds: ['subnet-0123456789abcdef0'] });
    const err = await aProvider()
      .launch(aLaunchRequest(spec))
      .catch((e: unknown) => e);
    expect(isSwarmkeeperError(err, 'SpecInvalid')).toBe(true);
    expect((err as SwarmkeeperError).details).toEqual({ field: 'spec.provider.ec2.subnetIds', ec2Code: 'InvalidSubnetID.NotFound' });
  });

  it('maps an unknown IAM instance profile to SpecInvalid naming spec.provider.ec2.iamInstanceProfile', async () => {
    const spec = anEc2Spec({ ...ec2, iamInstanceProfile: 'no-such-profile' });
    const err = await aProvider()
      .launch(aLaunchRequest(spec))
      .catch((e: unknown) => e);
    expect(isSwarmkeeperError(err, 'SpecInvalid')).toBe(true);
    expect((err as SwarmkeeperError).details).toMatchObject({ field: 'spec.provider.ec2.iamInstanceProfile' });
  });

  it('says how to provide credentials when there are none', async () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    try {
      const err = await aProvider()
        .list('prod')
        .catch((e: unknown) => e);
      expect(isSwarmkeeperError(err, 'Unauthorized')).toBe(true);
      expect((err as Error).message).toMatch(/AWS_ACCESS_KEY_ID.*instance profile/);
    } finally {
      process.env.AWS_ACCESS_KEY_ID = saved.id;
      process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    }
  });
});

describe('EC2 behaviours moto does not have', () => {
  it('ClientToken idempotency at EC2 itself: a controller with no memory whose DescribeInstances lags gets the same instances (fault injected)', async () => {
    const { api } = counted();
    // EC2's semantics, which moto lacks: same token + same parameters -> the first
    // answer; same token + other parameters -> IdempotentParameterMismatch.
    const seen = new Map<string, { input: string; output: Awaited<ReturnType<Ec2Api['runInstances']>> }>();
    let hideInstances = false;
    const ec2Like: Ec2Api = {
      ...api,
      async runInstances(input: RunInstancesCommandInput) {
        const key = input.ClientToken ?? '';
        const prior = seen.get(key);
        const params = JSON.stringify({ ...input, ClientToken: undefined });
        if (prior && prior.input !== params)
          throw Object.assign(new Error('mismatch'), { name: 'IdempotentParameterMismatch', $metadata: {} });
        if (prior) return prior.output;
        const output = await api.runInstances(input);
        seen.set(key, { input: params, output });
        return output;
      },
      async *describeInstancesPages(input, pageSize) {
        if (hideInstances) return; // eventual consistency: nothing visible yet
        yield* api.describeInstancesPages(input, pageSize);
      },
    };
    const spec = anEc2Spec(ec2);
    const req = aLaunchRequest(spec, { count: 2 });
    const first = await aProvider({ api: ec2Like }).launch(req);
    hideInstances = true;
    const again = await aProvider({ api: ec2Like }).launch(req);
    expect(again.map((i) => i.id).sort()).toEqual(first.map((i) => i.id).sort());
    expect(seen.size).toBe(ec2.subnetIds.length > 1 ? 2 : 1);
  });

  it('keeps a just-launched instance in list() while DescribeInstances does not show it (fault injected)', async () => {
    const { api, calls } = counted();
    let hidden = new Set<string>();
    const lagging: Ec2Api = {
      ...api,
      async *describeInstancesPages(input, pageSize) {
        for await (const page of api.describeInstancesPages(input, pageSize)) {
          yield page.map((r) => ({ ...r, Instances: (r.Instances ?? []).filter((i) => !hidden.has(i.InstanceId ?? '')) }));
        }
      },
    };
    const provider = aProvider({ api: lagging });
    const spec = anEc2Spec(ec2);
    const req = aLaunchRequest(spec, { role: 'manager' });
    const launched = await provider.launch(req);
    hidden = new Set(launched.map((i) => i.id));
    expect((await provider.list('prod')).map((i) => i.id)).toEqual(launched.map((i) => i.id));
    // Launching the same intent again launches nothing.
    await provider.launch(req);
    expect(calls.filter((c) => c === 'RunInstancesCommand')).toHaveLength(1);
    hidden = new Set();
    expect((await provider.list('prod')).map((i) => i.id)).toEqual(launched.map((i) => i.id));
  });

  it('tries the other subnets on InsufficientInstanceCapacity (fault injected)', async () => {
    const { api } = counted();
    const full = ec2.subnetIds[0];
    const tried: string[] = [];
    const partial: Ec2Api = {
      ...api,
      runInstances(input) {
        tried.push(input.SubnetId ?? '');
        if (input.SubnetId === full)
          return Promise.reject(
            Object.assign(new Error('We currently do not have sufficient capacity'), {
              name: 'InsufficientInstanceCapacity',
              $metadata: {},
            }),
          );
        return api.runInstances(input);
      },
    };
    const spec = anEc2Spec(ec2);
    const launched = await aProvider({ api: partial }).launch(aLaunchRequest(spec, { zone: full }));
    expect(tried[0]).toBe(full);
    expect(launched[0]?.subnetId).not.toBe(full);
  });

  it('retries RequestLimitExceeded with adaptive backoff, and reports Throttled when it lasts (fault injected)', async () => {
    // A loopback proxy in front of moto answers the first `throttle` requests the way a
    // throttled EC2 does (HTTP 503, RequestLimitExceeded) and forwards the rest.
    let throttle = 2;
    let requests = 0;
    const address = reserveLoopback({ block: 66 });
    const proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        requests += 1;
        if (throttle > 0) {
          throttle -= 1;
          res.writeHead(503, { 'content-type': 'text/xml' });
          res.end(
            '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>t</RequestID></Response>',
          );
          return;
        }
        const headers = Object.fromEntries(
          Object.entries(req.headers)
            .filter(([k]) => k !== 'host' && k !== 'content-length')
            .map(([k, v]) => [k, String(v)]),
        );
        fetch(`${moto.endpoint}${req.url ?? '/'}`, { method: req.method ?? 'POST', headers, body: Buffer.concat(chunks) })
          .then(async (r) => {
            res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'text/xml' });
            res.end(Buffer.from(await r.arrayBuffer()));
          })
          .catch(() => res.destroy());
      });
    });
    await new Promise<void>((r) => proxy.listen(0, address, () => r()));
    const port = (proxy.address() as AddressInfo).port;
    try {
      const spec = { ...ec2, endpoint: `http://${address}:${port}` };
      await aProvider().launch(aLaunchRequest(anEc2Spec(ec2)));
      expect(await aProvider({ ec2: spec, statusIntervalMs: Number.POSITIVE_INFINITY }).list('prod')).toHaveLength(1);
      expect(requests).toBe(3);
      throttle = 100;
      requests = 0;
      const err = await aProvider({ ec2: spec, statusIntervalMs: Number.POSITIVE_INFINITY })
        .list('prod')
        .catch((e: unknown) => e);
      expect(isSwarmkeeperError(err, 'Throttled')).toBe(true);
      expect((err as SwarmkeeperError).details).toEqual({ ec2Code: 'RequestLimitExceeded' });
      expect(requests).toBe(5);
    } finally {
      await new Promise((r) => proxy.close(r));
      releaseLoopback(address);
    }
  }, 120_000);

  it('stops launching after InstanceLimitExceeded and keeps saying why (fault injected)', async () => {
    const { api } = counted();
    let runs = 0;
    const quota: Ec2Api = {
      ...api,
      runInstances() {
        runs++;
        return Promise.reject(
          Object.assign(new Error('You have requested more instances than your current instance limit allows'), {
            name: 'InstanceLimitExceeded',
            $metadata: {},
          }),
        );
      },
    };
    const provider = aProvider({ api: quota });
    const spec = anEc2Spec(ec2);
    for (let n = 0; n < 3; n++) {
      const err = await provider.launch(aLaunchRequest(spec)).catch((e: unknown) => e);
      expect(isSwarmkeeperError(err, 'Capacity')).toBe(true);
      expect((err as SwarmkeeperError).details).toMatchObject({ capacityKind: 'quota', ec2Code: 'InstanceLimitExceeded' });
      expect((err as Error).message).toMatch(/quota/);
    }
    expect(runs).toBe(1);
  });
});
