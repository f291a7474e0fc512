// The HTTP server of `swarmkeeper run`: health, readiness and metrics always; the alert
// webhook when a token is set; the nodes' bootstrap exchange when ec2 launches carry
// bootstrap tokens. Each part reads specs through the controller's store and reaches
// instances through the same provider cache.
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../../log.ts';
import type { createMetrics } from '../../http/metrics.ts';
import type { ServerTls } from '../../http/tls.ts';
import { buildServer, type AlertsDeps, type ExtraPlugin, type ReadinessChecks } from '../../http/server.ts';
import { createNodeDirectory } from '../../heal/node-directory.ts';
import { DockerSwarm } from '../../swarm/docker-swarm.ts';
import { swarmReadiness } from '../../controller/swarm-readiness.ts';
import type { createEtcdClient } from '../../store/etcd-client.ts';
import type { WiredController } from '../../controller/wire.ts';
import type { ProviderCache } from '../../controller/provider-cache.ts';
import { resolveCluster, type ResolvedSpec } from '../../spec/defaults.ts';
import type { EtcdBootstrapTokens } from '../../store/bootstrap-tokens.ts';
import { bootstrapRoute, instanceFinder } from '../../http/bootstrap-route.ts';
import { EtcdManagementKv } from '../../store/management-kv.ts';
import type { ClusterDockerTls } from '../../controller/cluster-docker-tls.ts';
import { clustersPrefix } from '../../store/keys.ts';

export interface RunHttpDeps {
  readonly logger: Logger;
  readonly metrics: ReturnType<typeof createMetrics>;
  readonly client: ReturnType<typeof createEtcdClient>;
  readonly webhookToken?: string;
  readonly providers: ProviderCache;
  readonly prefix: string;
  readonly tokens?: EtcdBootstrapTokens;
  /** With tokens: which clusters use docker TLS and their CA (the route signs managers' certificates). */
  readonly dockerTls?: ClusterDockerTls;
  readonly tls?: ServerTls;
  readonly trustedProxies?: readonly string[];
}

/** The controller's HTTP server, built and not yet listening. */
export function buildRunServer(wired: WiredController, deps: RunHttpDeps): Promise<FastifyInstance> {
  const specs = storedSpecs(wired);
  return buildServer({
    ...(deps.tokens ? { plugins: [bootstrapPlugin(deps.tokens, specs.specOf, deps)] } : {}),
    logger: deps.logger,
    metrics: deps.metrics,
    ...(deps.tls ? { tls: deps.tls } : {}),
    ...(deps.trustedProxies ? { trustedProxies: deps.trustedProxies } : {}),
    readiness: readinessChecks(wired, specs.listClusters, deps),
    ...(deps.webhookToken ? { alerts: alertsIntake(wired, deps.webhookToken, specs.specOf, deps.providers) } : {}),
  });
}

/** The controller's specs, resolved (defaults applied). */
function storedSpecs({ store }: WiredController) {
  return {
    listClusters: async (): Promise<ResolvedSpec[]> => (await store.list()).map((c) => resolveCluster(c.cluster)),
    specOf: async (name: string): Promise<ResolvedSpec | undefined> => {
      const stored = await store.get(name);
      return stored ? resolveCluster(stored.cluster) : undefined;
    },
  };
}

/** POST /v1/bootstrap: a launched node trades its one-time token for its configuration. */
function bootstrapPlugin(
  tokens: EtcdBootstrapTokens,
  specOf: (name: string) => Promise<ResolvedSpec | undefined>,
  deps: RunHttpDeps,
): ExtraPlugin {
  return {
    plugin: bootstrapRoute,
    options: {
      tokens,
      findInstance: instanceFinder(specOf, (spec) => deps.providers.get(spec)),
      kvFor: (cluster: string) => EtcdManagementKv.forController(deps.client, deps.prefix, cluster),
      // Whenever the cluster uses docker TLS, whether or not this controller reaches managers over it.
      ...(deps.dockerTls ? { dockerCa: deps.dockerTls.caOf } : {}),
      logger: deps.logger,
    },
  };
}

function readinessChecks(wired: WiredController, listClusters: () => Promise<ResolvedSpec[]>, deps: RunHttpDeps): ReadinessChecks {
  return {
    // A read inside the prefix: an etcd role scoped to it may read nothing else.
    etcd: async () => {
      await deps.client.getAll().prefix(clustersPrefix(deps.prefix)).limit(1).keys();
      return true;
    },
    isLeader: () => wired.controller.isLeader(),
    // Asked on the leader only: it must reach a swarm manager of every cluster it manages.
    swarm: swarmReadiness({
      listClusters,
      providerFor: (spec) => deps.providers.get(spec),
      swarmFor: (endpoint) => new DockerSwarm(endpoint),
      logger: deps.logger,
    }),
  };
}

/** POST /v1/alerts: Alertmanager's notifications become health marks on known nodes. */
function alertsIntake(
  wired: WiredController,
  webhookToken: string,
  specOf: (name: string) => Promise<ResolvedSpec | undefined>,
  providers: ProviderCache,
): AlertsDeps {
  return {
    webhookToken,
    marks: wired.marks,
    directory: createNodeDirectory({
      clusterExists: async (name) => (await wired.store.get(name)) !== undefined,
      listInstances: async (name) => {
        const spec = await specOf(name);
        return spec ? providers.get(spec).list(name) : [];
      },
    }),
  };
}
