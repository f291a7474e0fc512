// The Provider port: where instances come from. Three implementations: `ec2`
// (@aws-sdk/client-ec2), `local` (real dockerd and etcd processes on 127.0.x.y) and
// `sim` (in-memory, seeded, for property tests and scale benchmarks). A contract test
// suite (test/support/provider-contract.ts) runs against every one of them.
//
// Error semantics (callers rely on these):
// - Failures are SwarmkeeperErrors: Unavailable (peer unreachable), Throttled (retried
//   and still throttled), Capacity (no capacity/quota: retry later, maybe elsewhere),
//   SpecInvalid (the provider refused a setting: details.field names the spec field),
//   Unauthorized (credentials).
// - launch() is idempotent on clientToken: a repeat with the same token returns the
//   instances of the first call and launches nothing.
// - terminate() of an instance that is already gone resolves (it is the goal state).
// - list() returns every instance of the cluster that is not terminated, or throws: it
//   never returns a partial list as if it were complete.
import type { Instance } from '../model/snapshot.ts';
import type { ResolvedSpec } from '../spec/defaults.ts';
import type { ProviderName, Role } from '../spec/schema.ts';
import type { NodeAgentConfig } from '../protocol/agent-config.ts';
import type { DockerEndpoint } from '../swarm/docker-endpoint.ts';

export interface LaunchRequest {
  readonly spec: ResolvedSpec;
  readonly role: Role;
  readonly count: number;
  /** Deterministic per launch intent (at most 64 ASCII characters). */
  readonly clientToken: string;
  readonly configHash: string;
  /** Preferred zone or subnet (the planner spreads nodes); the provider may fall back. */
  readonly zone?: string;
  /** What the node's bootstrap agent needs; the provider turns it into user-data. */
  readonly agent: NodeAgentConfig;
}

export interface Provider {
  readonly name: ProviderName;
  list(cluster: string): Promise<Instance[]>;
  launch(req: LaunchRequest): Promise<Instance[]>;
  terminate(cluster: string, instanceId: string): Promise<void>;
  /** Where the controller talks to this instance's dockerd. */
  dockerEndpoint(instance: Instance): DockerEndpoint;
  /** The instance's etcd client URL (managers: its member; workers: its gateway). */
  etcdClientUrl(instance: Instance): string;
  /** Releases clients and timers. Never stops instances. */
  close(): Promise<void>;
  /**
   * Drops what the provider keeps about a cluster that has no instance left (called when
   * a deleted cluster is released). Providers that keep nothing leave it out.
   */
  forgetCluster?(cluster: string): Promise<void>;
  /**
   * How soon a cluster still converging may be observed again (ms). Listing local
   * instances costs nothing, so they ask for less than the controller's default (1 s); a
   * cloud API with rate limits leaves it unset.
   */
  readonly convergingRecheckMs?: number;
}
