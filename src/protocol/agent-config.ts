// What a node's bootstrap agent (`swarmkeeper node bootstrap`) is told at launch. The
// local provider passes it on the agent's command line; the ec2 provider renders it
// into cloud-config or Ignition user-data. It holds no secret in clear text: a node
// obtains join tokens and credentials with its one-time bootstrap token (issue 5) or,
// for the local provider, from the management etcd it is given access to.
import type { Role } from '../spec/schema.ts';

export interface NodeAgentConfig {
  readonly cluster: string;
  readonly role: Role;
  /** The management etcd that holds the spec, the status and the protected join key. */
  readonly managementEtcd: {
    readonly endpoints: readonly string[];
    readonly prefix: string;
  };
  /** Controller URL a node exchanges its bootstrap token at (ec2); absent for local. */
  readonly bootstrapUrl?: string;
  /** PEM CA certificates the node trusts for an https:// bootstrapUrl (a private CA); else the system store. */
  readonly bootstrapCa?: string;
  /** One-time token, valid until the startup timeout; absent for local. */
  readonly bootstrapToken?: string;
  /** Image of the management container that carries the agent (ec2 cloud-config). */
  readonly agentImage?: string;
  /**
   * ec2 managers: dockerd serves its API on :2376 with mutual TLS, from a certificate the
   * bootstrap exchange issues (the cluster uses docker TLS). Absent: the local socket only.
   */
  readonly dockerTls?: boolean;
}
