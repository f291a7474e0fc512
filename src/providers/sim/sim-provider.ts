// The sim Provider: launches are idempotent on the client token (a repeat returns the
// first call's instances, as EC2 does), terminate of a gone instance resolves, list()
// never returns a partial list. Faults come from the world's FaultRates.
import type { Instance } from '../../model/snapshot.ts';
import { etcdClientUrl } from '../../model/snapshot.ts';
import { SwarmkeeperError } from '../../errors.ts';
import type { LaunchRequest, Provider } from '../provider.ts';
import type { DockerEndpoint } from '../../swarm/docker-endpoint.ts';
import type { SimInstance } from './model.ts';
import type { SimState } from './state.ts';

export class SimProvider implements Provider {
  readonly name = 'sim' as const;

  constructor(private readonly world: SimState) {}

  async list(cluster: string): Promise<Instance[]> {
    this.world.maybeFail('describing instances');
    return [...this.world.instances.values()].filter((i) => i.cluster === cluster && i.state !== 'terminated').map(toInstance);
  }

  async launch(req: LaunchRequest): Promise<Instance[]> {
    const w = this.world;
    w.maybeFail('launching instances');
    const previous = w.launchesByToken.get(req.clientToken);
    if (previous)
      return previous
        .map((id) => w.instances.get(id))
        .filter((i): i is SimInstance => i !== undefined)
        .map(toInstance);
    if (w.chance(w.faults.launchFailure))
      throw new SwarmkeeperError('Capacity', `launching ${req.count} ${req.role}(s): insufficient capacity (simulated)`);
    const out: SimInstance[] = [];
    for (let k = 0; k < req.count; k++) {
      out.push(
        w.createInstance({
          cluster: req.spec.name,
          role: req.role,
          configHash: req.configHash,
          clientToken: req.clientToken,
          ...(req.zone === undefined ? {} : { zone: req.zone }),
          tags: { 'swarmkeeper.cluster': req.spec.name, 'swarmkeeper.role': req.role },
        }),
      );
    }
    w.maybeLoseResponse('launching instances');
    return out.map(toInstance);
  }

  async terminate(_cluster: string, instanceId: string): Promise<void> {
    this.world.maybeFail(`terminating ${instanceId}`);
    this.world.removeInstance(instanceId, 'controller');
    this.world.maybeLoseResponse(`terminating ${instanceId}`);
  }

  dockerEndpoint(instance: Instance): DockerEndpoint {
    // Simulated: the world answers swarm calls itself; this path is never opened.
    return { socketPath: `/nonexistent/sim/${instance.id}/docker.sock` };
  }

  etcdClientUrl(instance: Instance): string {
    return etcdClientUrl(instance.address ?? '0.0.0.0');
  }

  async close(): Promise<void> {}
}

export function toInstance(i: SimInstance): Instance {
  return {
    id: i.id,
    role: i.role,
    state: i.state,
    launchedAt: i.launchedAt,
    ...(i.address === undefined ? {} : { address: i.address }),
    ...(i.zone === undefined ? {} : { zone: i.zone }),
    configHash: i.configHash,
    ...(i.clientToken === undefined ? {} : { clientToken: i.clientToken }),
    tags: { ...i.tags },
    statusChecksOk: i.alive,
  };
}
