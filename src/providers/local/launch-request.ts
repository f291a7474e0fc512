// What a local launch request must hold (refused with the field named, before anything
// starts), and the deterministic names of the instances it makes.
import { SwarmkeeperError } from '../../errors.ts';
import { fnv1a64Hex } from '../../spec/config-hash.ts';
import type { LaunchRequest } from '../provider.ts';

/**
 * Deterministic per (provider state dir, cluster, token, index): a repeated launch names
 * the same instances, and two providers on one machine (two demos) never share an id.
 */
export function instanceIdOf(baseDir: string, cluster: string, clientToken: string, index: number): string {
  return `lc-${fnv1a64Hex(`${baseDir}\n${cluster}\n${clientToken}\n${index}`).slice(0, 10)}`;
}

export function validateLaunch(req: LaunchRequest): void {
  if (!Number.isInteger(req.count) || req.count < 1 || req.count > 64) {
    throw new SwarmkeeperError('SpecInvalid', `local launch of ${req.count} instances: count must be 1..64`, {
      details: { field: 'count' },
    });
  }
  if (!req.clientToken || req.clientToken.length > 64 || !/^[\x21-\x7e]+$/.test(req.clientToken)) {
    throw new SwarmkeeperError('SpecInvalid', 'local launch: clientToken must be 1..64 printable ASCII characters', {
      details: { field: 'clientToken' },
    });
  }
  if (req.agent.managementEtcd.endpoints.length === 0) {
    throw new SwarmkeeperError('SpecInvalid', 'local launch: the node agent needs at least one management etcd endpoint', {
      details: { field: 'agent.managementEtcd.endpoints' },
    });
  }
}
