// The Provider a spec names, for the controller process (`swarmkeeper run`). The sim
// provider lives in memory with its own simulated swarm and etcd, so it only runs
// in-process (tests, benchmarks, the demo's fallback), never behind `run`.
// The EC2 provider and its SDK (about 55 MB resident on top of the rest) are imported only when a cluster
// names provider ec2.
import { SwarmkeeperError } from '../errors.ts';
import { lazyModule } from '../lazy-module.ts';
import type { Logger } from '../log.ts';
import type { Provider } from '../providers/provider.ts';
import { LocalProvider } from '../providers/local/local-provider.ts';
import type { ResolvedSpec } from '../spec/defaults.ts';
import { lazyProvider } from './lazy-provider.ts';

const ec2Module = lazyModule('spec.provider.ec2 (the EC2 provider)', () => import('../providers/ec2/ec2-provider.ts'));

export interface ProviderWiring {
  readonly logger: Logger;
  /** Overrides for the local provider (tests isolate the loopback pool and base dir). */
  readonly local?: { readonly poolDir?: string; readonly agentLogLevel?: string };
}

export function providerForSpec(spec: ResolvedSpec, wiring: ProviderWiring): Provider {
  switch (spec.providerName) {
    case 'local':
      return LocalProvider.fromSpec(spec.provider.local, {
        logger: wiring.logger,
        ...(wiring.local?.poolDir ? { poolDir: wiring.local.poolDir } : {}),
        ...(wiring.local?.agentLogLevel ? { agentLogLevel: wiring.local.agentLogLevel } : {}),
      });
    case 'ec2': {
      const ec2 = spec.provider.ec2;
      if (!ec2)
        throw new SwarmkeeperError('SpecInvalid', `cluster ${spec.name}: spec.provider.ec2 is missing`, {
          details: { field: 'spec.provider.ec2' },
        });
      return lazyProvider('ec2', async () => {
        const { Ec2Provider, dockerAccessFromEnv } = await ec2Module();
        return new Ec2Provider({ ec2, docker: dockerAccessFromEnv(), logger: wiring.logger });
      });
    }
    case 'sim':
      throw new SwarmkeeperError(
        'SpecInvalid',
        `cluster ${spec.name}: the sim provider runs only in-process (tests, benchmarks, the demo); use provider.local or provider.ec2 with swarmkeeper run`,
        { details: { field: 'spec.provider.sim' } },
      );
  }
}
