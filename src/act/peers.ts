// Which peer a step talks to: the swarm through a manager that answers as one (the
// leader first), the cluster's etcd through every member and manager URL known, so a
// dead member does not block the call (EtcdMembership picks a healthy one).
import type { EtcdMembershipApi } from '../etcd/port.ts';
import { SwarmkeeperError, messageOf } from '../errors.ts';
import type { Instance, Snapshot } from '../model/snapshot.ts';
import { withTimeout } from '../observe/with-timeout.ts';
import type { SwarmApi } from '../swarm/port.ts';
import type { ActDeps } from './context.ts';

export function instancesOf(snapshot: Snapshot): readonly Instance[] {
  return snapshot.instances.status === 'ok' ? snapshot.instances.value : (snapshot.instances.partial ?? []);
}

export function etcdFor(deps: ActDeps, snapshot: Snapshot): EtcdMembershipApi {
  const urls = new Set<string>();
  const members = snapshot.etcd.status === 'ok' ? snapshot.etcd.value.members : (snapshot.etcd.partial?.members ?? []);
  for (const m of members) for (const u of m.clientURLs) if (u) urls.add(u);
  for (const i of instancesOf(snapshot)) {
    if (i.role === 'manager' && i.state === 'running') urls.add(deps.provider.etcdClientUrl(i));
  }
  if (urls.size === 0) throw new SwarmkeeperError('Unavailable', 'reaching the cluster etcd: no member or manager instance is known');
  return deps.peers.etcd([...urls]);
}

/** A SwarmApi of an engine that is a swarm manager right now (the leader when it answers). */
export async function swarmManagerFor(deps: ActDeps, snapshot: Snapshot): Promise<SwarmApi> {
  const byId = new Map(instancesOf(snapshot).map((i) => [i.id, i]));
  const nodes = snapshot.swarm.status === 'ok' ? snapshot.swarm.value.nodes : [];
  const ordered: Instance[] = [];
  const push = (id: string | undefined): void => {
    const inst = id === undefined ? undefined : byId.get(id);
    if (inst && !ordered.includes(inst)) ordered.push(inst);
  };
  for (const n of nodes) if (n.leader) push(n.instanceId);
  for (const n of nodes) if (n.role === 'manager' && n.reachability === 'reachable') push(n.instanceId);
  for (const i of byId.values()) if (i.role === 'manager' && i.state === 'running') push(i.id);
  const errors: string[] = [];
  for (const inst of ordered) {
    try {
      const api = deps.peers.swarm(deps.provider.dockerEndpoint(inst));
      const info = await withTimeout(api.info(), 5000, `dockerd of ${inst.id}`);
      if (info.isManager) return api;
      errors.push(`${inst.id} is not a manager`);
    } catch (err) {
      errors.push(`${inst.id}: ${messageOf(err)}`);
    }
  }
  throw new SwarmkeeperError('Unavailable', `reaching a swarm manager: none answered (${errors.join('; ') || 'no manager instance'})`);
}
