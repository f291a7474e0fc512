// How the controller reaches a node's Docker API: one concept, the same shape whether
// it is configured once for a provider (DockerAccess: the local socket, or TLS to every
// node) or resolved for one node (DockerEndpoint: the socket, or TLS to that node's
// address). Never plain TCP.
import { SwarmkeeperError } from '../errors.ts';

export interface DockerSocket {
  /** The controller runs on a manager (or beside a local node): its unix socket. */
  readonly socketPath: string;
}

/** Mutual TLS, certificates from bootstrap; PEM text, never file paths. */
export interface DockerTls {
  readonly port: number;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** How every node of a provider is reached. */
export type DockerAccess = DockerSocket | DockerTls;

/** How one node is reached. */
export type DockerEndpoint = DockerSocket | (DockerTls & { readonly host: string });

/** One node's endpoint under `access`; TLS needs the node's address. */
export function dockerEndpointFor(access: DockerAccess, host: string | undefined, node: string): DockerEndpoint {
  if ('socketPath' in access) return { socketPath: access.socketPath };
  if (!host) throw new SwarmkeeperError('Precondition', `instance ${node} has no private address yet`);
  return { host, port: access.port, ca: access.ca, cert: access.cert, key: access.key };
}
