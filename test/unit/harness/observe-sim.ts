// Builds a Snapshot from a SimWorld through the ports only (Provider, SwarmApi,
// EtcdMembershipApi), the way the controller's observer does: a failed read is data.
import type { HealthMark, NodeControl, Operation, Snapshot, Source } from '../../../src/model/snapshot.ts';
import { messageOf } from '../../../src/errors.ts';
import type { SimWorld } from '../../../src/providers/sim/index.ts';

export interface ObserveInputs {
  readonly marks: readonly HealthMark[];
  readonly operations: readonly Operation[];
  readonly controls?: readonly NodeControl[];
  readonly selfInstanceId?: string;
}

export async function observeSim(world: SimWorld, cluster: string, inputs: ObserveInputs): Promise<Snapshot> {
  const instances = await read(() => world.provider.list(cluster));
  const swarm = await read(async () => {
    if (!world.swarmInitialized) return { nodes: [], initialized: false };
    return { nodes: await world.swarm.listNodes(), initialized: true };
  });
  const etcd = await read(async () => {
    if (world.members.size === 0) return { members: [], alarms: [] };
    return world.etcd.view();
  });
  return {
    observedAt: world.now,
    instances,
    swarm,
    etcd,
    marks: [...inputs.marks],
    operations: [...inputs.operations],
    controls: [...(inputs.controls ?? [])],
    ...(inputs.selfInstanceId === undefined ? {} : { selfInstanceId: inputs.selfInstanceId }),
    ...(world.publishedClientURLs === undefined ? {} : { publishedClientURLs: [...world.publishedClientURLs] }),
  };
}

async function read<T>(fn: () => Promise<T>): Promise<Source<T>> {
  try {
    return { status: 'ok', value: await fn() };
  } catch (err) {
    return { status: 'unavailable', error: messageOf(err) };
  }
}
