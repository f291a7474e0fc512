// The default NodeAgentConfig for a launch: the node's agent reads the join protocol's
// records from the management etcd directly (the local provider). The ec2 provider's
// wiring passes its own factory that adds a one-time bootstrap token (issue 5).
import type { AgentConfigFactory } from '../act/context.ts';

export function localAgentConfig(managementEndpoints: readonly string[], prefix: string): AgentConfigFactory {
  return async (spec, role) => ({
    cluster: spec.name,
    role,
    managementEtcd: { endpoints: [...managementEndpoints], prefix },
  });
}
