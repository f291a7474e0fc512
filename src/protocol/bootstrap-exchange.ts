// The bootstrap exchange between a booting node's agent and the controller, over HTTP:
// the routes, what the agent sends and what the controller answers. The controller
// serves it (src/http/bootstrap-route.ts, src/http/endpoints-route.ts); the agent calls
// it (src/node/bootstrap-client.ts, src/node/controller-endpoints.ts). Both import the
// shapes from here, so a change to the contract is a change to one file.
//
// POST BOOTSTRAP_PATH: the node trades its one-time bootstrap token for a JoinResponse.
// POST INITIALIZED_PATH: the first manager reports the join tokens of the swarm it
// created, with the same token. GET ENDPOINTS_PATH: a joined node reads the cluster's
// published endpoints (an encoded ClusterEndpoints, src/protocol/cluster-endpoints.ts)
// with the node credential its JoinResponse carried.
import type { Role } from '../spec/schema.ts';

export const BOOTSTRAP_PATH = '/v1/bootstrap';
export const INITIALIZED_PATH = '/v1/bootstrap/initialized';
export const ENDPOINTS_PATH = '/v1/bootstrap/endpoints';

/** What a booting node sends to BOOTSTRAP_PATH. */
export interface ExchangeBody {
  cluster: string;
  token: string;
  instanceId: string;
  /** A manager that wants a dockerd server certificate for TLS TCP sends its CSR. */
  dockerCsr?: string;
}

/** What the first manager sends to INITIALIZED_PATH once it has run `swarm init`. */
export interface InitializedBody extends ExchangeBody {
  address: string;
  swarmTokens: { worker: string; manager: string };
}

/** The controller's answer to BOOTSTRAP_PATH. */
export interface JoinResponse {
  readonly cluster: string;
  readonly role: Role;
  readonly instanceId: string;
  /** First manager: start a new etcd and `swarm init`, then POST /v1/bootstrap/initialized. */
  readonly initialize: boolean;
  /** Absent when initialising. The token joins as a worker. */
  readonly swarm?: { readonly joinToken: string; readonly managers: readonly string[] };
  readonly etcd: { readonly clientURLs: readonly string[] };
  /** Managers that sent a CSR, when the controller uses TLS: dockerd's server certificate and the CA its clients use. */
  readonly dockerTls?: { readonly ca: string; readonly cert: string };
  /** This node's credential for GET /v1/bootstrap/endpoints (its only standing credential). */
  readonly nodeCredential?: string;
}
