// Plays EC2's part after RunInstances: for each instance of a cluster that moto reports
// running, boots a node on this machine from exactly the user-data moto holds for it
// (DescribeInstanceAttribute userData, the bytes the provider sent), on the instance's
// private address; when moto reports an instance shutting down or terminated, the node
// is killed and removed, as EC2 would. See node-host.ts for how a node boots.
//
// Instance addresses are loopback addresses because the test's subnets are 127.x
// (moto accepts them); each is also reserved in the machine's loopback pool so no other
// test hands it out while the node runs.
import { DescribeInstanceAttributeCommand, DescribeInstancesCommand, EC2Client, type Instance as Ec2Instance } from '@aws-sdk/client-ec2';
import { releaseLoopback, reserveSpecificLoopback } from '../../src/net/loopback-pool.ts';
import { TAGS } from '../../src/providers/ec2/ec2-instances.ts';
import { bootNodeFromUserData, type BootedNode } from './node-host.ts';

export interface FleetNode {
  readonly instanceId: string;
  readonly address: string;
  /** When the fleet first saw the instance running in moto (ms since epoch). */
  readonly seenAt: number;
  /** When its root was ready and systemd started (ms since epoch). */
  readonly bootedAt: number;
  readonly node: BootedNode;
}

export interface Ec2NodeFleet {
  /** Nodes booted and not removed, by instance id. */
  readonly nodes: ReadonlyMap<string, FleetNode>;
  /** Boot failures so far (a test asserts there are none). */
  readonly errors: readonly string[];
  stop(): Promise<void>;
}

export interface FleetOptions {
  readonly endpoint: string;
  readonly region: string;
  readonly cluster: string;
  readonly intervalMs?: number;
}

const GONE = new Set(['shutting-down', 'terminated', 'stopping', 'stopped']);

export function runEc2NodeFleet(opts: FleetOptions): Ec2NodeFleet {
  const ec2 = new EC2Client({ region: opts.region, endpoint: opts.endpoint });
  const nodes = new Map<string, FleetNode>();
  const booting = new Set<string>();
  const errors: string[] = [];
  let running = true;

  const boot = async (inst: Ec2Instance): Promise<void> => {
    const instanceId = inst.InstanceId as string;
    const address = inst.PrivateIpAddress ?? '';
    const seenAt = Date.now();
    booting.add(instanceId);
    try {
      if (!address.startsWith('127.'))
        throw new Error(`instance ${instanceId} has private address ${address}: only loopback subnets may be used here`);
      if (!reserveSpecificLoopback(address))
        throw new Error(`instance ${instanceId}: its address ${address} is held by another user of the loopback pool`);
      const attr = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: instanceId, Attribute: 'userData' }));
      const userData = Buffer.from(attr.UserData?.Value ?? '', 'base64').toString('utf8');
      const node = await bootNodeFromUserData({ instanceId, address, userData });
      nodes.set(instanceId, { instanceId, address, seenAt, bootedAt: Date.now(), node });
    } catch (err) {
      errors.push(`booting ${instanceId}: ${(err as Error).message}`);
      releaseLoopback(address);
    } finally {
      booting.delete(instanceId);
    }
  };

  const remove = async (n: FleetNode): Promise<void> => {
    nodes.delete(n.instanceId);
    try {
      await n.node.remove();
    } catch (err) {
      errors.push(`removing ${n.instanceId}: ${(err as Error).message}`);
    }
    releaseLoopback(n.address);
  };

  const pending: Promise<void>[] = [];
  const loop = (async () => {
    while (running) {
      try {
        const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: `tag:${TAGS.cluster}`, Values: [opts.cluster] }] }));
        for (const inst of (out.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
          const id = inst.InstanceId ?? '';
          const state = inst.State?.Name ?? '';
          const known = nodes.get(id);
          if (known && GONE.has(state)) pending.push(remove(known));
          else if (!known && !booting.has(id) && state === 'running' && !errors.some((e) => e.startsWith(`booting ${id}:`)))
            pending.push(boot(inst));
        }
      } catch (err) {
        errors.push(`describing instances: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 300));
    }
  })();

  return {
    nodes,
    errors,
    async stop() {
      running = false;
      await loop;
      await Promise.allSettled(pending);
      await Promise.allSettled([...nodes.values()].map(remove));
      ec2.destroy();
    },
  };
}
