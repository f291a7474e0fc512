// A Provider whose implementation is imported when it is built, so the controller loads
// a provider's code (and its cloud SDK) only for clusters that name that provider.
import { SwarmkeeperError } from '../errors.ts';
import type { Instance } from '../model/snapshot.ts';
import type { DockerEndpoint } from '../swarm/docker-endpoint.ts';
import type { LaunchRequest, Provider } from '../providers/provider.ts';
import type { ProviderName } from '../spec/schema.ts';

/**
 * Starts `load` at once and forwards every call to the provider it yields. The
 * asynchronous calls wait for it. The two synchronous ones (dockerEndpoint,
 * etcdClientUrl) take an instance, and every instance comes from an awaited list() or
 * launch() of this same provider, so the module is loaded by then. `convergingRecheckMs`
 * is not forwarded: only providers that are never loaded lazily set it.
 */
export function lazyProvider(name: ProviderName, load: () => Promise<Provider>): Provider {
  let loaded: Provider | undefined;
  const ready = load().then((p) => (loaded = p));
  // Reported by the first call that needs the provider, not as an unhandled rejection.
  ready.catch(() => undefined);
  const now = (what: string): Provider => {
    if (loaded) return loaded;
    throw new SwarmkeeperError('Internal', `provider ${name}: ${what} was asked before the provider was loaded (no list or launch yet)`);
  };
  return {
    name,
    list: async (cluster: string) => (await ready).list(cluster),
    launch: async (req: LaunchRequest) => (await ready).launch(req),
    terminate: async (cluster: string, instanceId: string) => (await ready).terminate(cluster, instanceId),
    dockerEndpoint: (instance: Instance): DockerEndpoint => now('a docker endpoint').dockerEndpoint(instance),
    etcdClientUrl: (instance: Instance): string => now('an etcd client URL').etcdClientUrl(instance),
    forgetCluster: async (cluster: string) => (await ready).forgetCluster?.(cluster),
    close: async () => {
      const provider = await ready.catch(() => undefined);
      await provider?.close();
    },
  };
}
