// Which clusters' managers serve their docker API over TLS, and the CA that signs their
// certificates. The cluster's docker CA record in the management etcd (keys.secrets,
// `docker-ca`) is the record that the cluster uses docker TLS, so every controller that
// shares the management etcd answers alike, however it reaches the managers itself:
// - a controller configured with SWARMKEEPER_DOCKER_TLS_* (outside the swarm, it reaches
//   managers over mutual TLS) uses docker TLS for every ec2 cluster: it creates the record
//   on first use, at the first manager launch, before any node of the cluster boots;
// - a controller without them (the stack's replicas, on a manager's docker socket) gives
//   docker TLS to the new managers of a cluster that has the record, and to no other.
// So a cluster built from outside keeps getting certificates on every manager after the
// stack takes over, with no setting to carry over. Nodes only ever get the CA certificate
// and their own certificate; the CA key stays in the management etcd and in this
// process's memory while it signs, and never reaches a log (errors name the cluster only).
import { lazyModule } from '../lazy-module.ts';
import type { DockerCa } from '../providers/ec2/docker-ca.ts';
import type { CreateOnceSecret } from '../store/create-once-secret.ts';

// The x509 library (about 20 MB resident) loads only when a CA is used or created.
const dockerCaModule = lazyModule('the docker CA of a cluster that uses docker TLS', () => import('../providers/ec2/docker-ca.ts'));

export interface ClusterDockerTls {
  /** Whether the cluster's new managers serve docker over TLS (rendered into their user-data). */
  usesDockerTls(cluster: string): Promise<boolean>;
  /** The CA that signs the cluster's managers' docker certificates; undefined when the cluster has none. */
  caOf(cluster: string): Promise<DockerCa | undefined>;
}

export interface ClusterDockerTlsOptions {
  /** The cluster's docker CA record (keys.secrets `docker-ca`). */
  readonly secretOf: (cluster: string) => CreateOnceSecret;
  /** This controller reaches managers over mutual TLS (SWARMKEEPER_DOCKER_TLS_*): the CA is created when missing. */
  readonly controllerUsesTls: boolean;
}

export function clusterDockerTls(opts: ClusterDockerTlsOptions): ClusterDockerTls {
  const caOf = async (cluster: string): Promise<DockerCa | undefined> => {
    const secret = opts.secretOf(cluster);
    if (opts.controllerUsesTls) return (await dockerCaModule()).loadOrCreateDockerCa(secret, cluster);
    // One read: the record's text, when there is one, is what the CA is made from.
    const record = await secret.read();
    return record === undefined ? undefined : (await dockerCaModule()).dockerCaFromRecord(record, cluster);
  };
  return {
    caOf,
    async usesDockerTls(cluster) {
      // A TLS controller creates the record now: from here on, every controller agrees.
      if (opts.controllerUsesTls) return (await caOf(cluster)) !== undefined;
      return opts.secretOf(cluster).exists();
    },
  };
}

/** SWARMKEEPER_DOCKER_TLS_CA set: the controller reaches ec2 managers' dockerd over mutual TLS (dockerAccessFromEnv). */
export function controllerUsesDockerTls(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.SWARMKEEPER_DOCKER_TLS_CA);
}
