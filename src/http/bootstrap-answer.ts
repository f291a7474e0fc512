// What a node that proved its bootstrap token is told (POST /v1/bootstrap): join the
// swarm the cluster's records describe, or, for the first manager of a new cluster,
// initialise it, or come back later. The route (bootstrap-route.ts) has checked the
// token, the instance and the source address before any of this runs.
import type { Logger } from '../log.ts';
import type { Instance } from '../model/snapshot.ts';
import type { DockerCa } from '../providers/ec2/docker-ca.ts';
import type { JoinResponse } from '../protocol/bootstrap-exchange.ts';
import type { NodeCredentials } from '../store/bootstrap-token-port.ts';
import type { ManagementKv } from '../store/management-kv.ts';

/** Where an answer's parts come from. */
export interface AnswerSources {
  readonly credentials: NodeCredentials;
  readonly kvFor: (cluster: string) => ManagementKv;
  /** The cluster's docker CA; undefined when the cluster does not use docker TLS. */
  readonly dockerCa?: (cluster: string) => Promise<DockerCa | undefined>;
  readonly clock: () => number;
  readonly log: Logger;
}

/** The node asking: its cluster, its id, and the CSR a manager may send for dockerd's TLS. */
export interface Asker {
  readonly cluster: string;
  readonly instanceId: string;
  readonly dockerCsr?: string;
}

/** An answer to send, or "retry after this many seconds" with the reason. */
export type PlannedAnswer = { readonly answer: JoinResponse } | { readonly retry: string; readonly afterSeconds?: number };

/** Managers of a new cluster boot together; the founder's etcd and swarm take seconds, so the others ask again soon. */
const INITIALISING_RETRY_SECONDS = 2;

/**
 * The join answer when the cluster has published managers and join tokens; else, for a
 * manager, the instruction to initialise when it wins the init claim (or already holds
 * it); else a retry. Throws when the management etcd does not answer.
 */
export async function planJoinAnswer(src: AnswerSources, asker: Asker, instance: Instance): Promise<PlannedAnswer> {
  const { cluster, instanceId } = asker;
  const kv = src.kvFor(cluster);
  const [endpoints, tokens] = await Promise.all([kv.readEndpoints(), kv.readTokens()]);
  if (endpoints && tokens && endpoints.swarmManagers.length > 0) {
    return {
      answer: {
        cluster,
        role: instance.role,
        instanceId,
        initialize: false,
        swarm: { joinToken: tokens.worker, managers: endpoints.swarmManagers },
        etcd: { clientURLs: endpoints.etcdClientURLs },
        nodeCredential: await src.credentials.nodeCredential(cluster, instanceId),
      },
    };
  }
  if (instance.role !== 'manager' || !instance.address) return { retry: 'the cluster has no manager yet; retry' };
  const claim = { instanceId, address: instance.address, claimedAt: new Date(src.clock()).toISOString() };
  const mine = (await kv.claimInit(claim)) || (await kv.readClaim())?.instanceId === instanceId;
  if (!mine) return { retry: 'the first manager is still initialising the cluster; retry', afterSeconds: INITIALISING_RETRY_SECONDS };
  return { answer: await founderAnswer(src, asker) };
}

/** The first manager's answer: initialise a new etcd and swarm. */
export async function founderAnswer(src: AnswerSources, asker: Asker): Promise<JoinResponse> {
  return {
    cluster: asker.cluster,
    role: 'manager',
    instanceId: asker.instanceId,
    initialize: true,
    etcd: { clientURLs: [] },
    nodeCredential: await src.credentials.nodeCredential(asker.cluster, asker.instanceId),
  };
}

/** withDockerTls when the CA could not be read: the node asks again later. */
export const CA_UNAVAILABLE = 'ca-unavailable';
/** withDockerTls when the CA refused the node's CSR. */
export const CSR_REFUSED = 'csr-refused';

/**
 * `answer` with a docker server certificate for `address` when the manager sent a CSR
 * and its cluster has a docker CA; `answer` itself otherwise. CSR_REFUSED when the CA
 * refused the CSR, CA_UNAVAILABLE when the CA could not be read (both logged here,
 * without the CSR or anything of the CA record).
 */
export async function withDockerTls(
  src: AnswerSources,
  asker: Asker,
  answer: JoinResponse,
  address: string,
): Promise<JoinResponse | typeof CSR_REFUSED | typeof CA_UNAVAILABLE> {
  if (!src.dockerCa || !asker.dockerCsr) return answer;
  const who = { cluster: asker.cluster, instanceId: asker.instanceId };
  let ca: DockerCa | undefined;
  try {
    ca = await src.dockerCa(asker.cluster);
  } catch (err) {
    src.log.error({ ...who, err }, 'Reading the docker CA failed');
    return CA_UNAVAILABLE;
  }
  if (!ca) {
    // Its user-data asked for docker TLS (rendered by hand?) while no controller made its cluster a CA.
    src.log.warn(who, 'A manager asked for a docker certificate, but its cluster has no docker CA: answering without one');
    return answer;
  }
  try {
    return { ...answer, dockerTls: { ca: ca.caPem, cert: await ca.issueServerCert(asker.dockerCsr, address, src.clock()) } };
  } catch (err) {
    src.log.warn({ ...who, err }, 'Refused a docker certificate request');
    return CSR_REFUSED;
  }
}
