// The controller's bootstrap route as `swarmkeeper run` mounts it, on a real management
// etcd, answering for one known instance (the instance a provider would list; the EC2
// binding itself is tested with moto in ec2-bootstrap.test.ts).
import type { Etcd3 } from 'etcd3';
import Fastify, { type FastifyInstance } from 'fastify';
import { bootstrapRoute } from '../../src/http/bootstrap-route.ts';
import { silentLogger } from '../../src/log.ts';
import type { Instance } from '../../src/model/snapshot.ts';
import type { DockerCa } from '../../src/providers/ec2/docker-ca.ts';
import type { EtcdBootstrapTokens } from '../../src/store/bootstrap-tokens.ts';
import { EtcdManagementKv } from '../../src/store/management-kv.ts';

export interface BootstrapRouteSetup {
  readonly client: Etcd3;
  readonly prefix: string;
  readonly tokens: EtcdBootstrapTokens;
  readonly instance: Instance;
  readonly dockerCa: (cluster: string) => Promise<DockerCa | undefined>;
}

/** A Fastify app with only the bootstrap route registered (not listening yet). */
export async function bootstrapRouteApp(s: BootstrapRouteSetup): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(bootstrapRoute, {
    tokens: s.tokens,
    findInstance: async (_cluster: string, id: string) => (id === s.instance.id ? s.instance : undefined),
    kvFor: (cluster: string) => EtcdManagementKv.forController(s.client, s.prefix, cluster),
    dockerCa: s.dockerCa,
    logger: silentLogger(),
  });
  return app;
}
