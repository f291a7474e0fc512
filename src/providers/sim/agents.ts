// Simulated node agents, following the join protocol of src/node/agent-decide.ts: boot; the first
// manager (nothing claimed yet) initialises etcd and the swarm and publishes the
// endpoints; every other node joins the swarm as a WORKER once the swarm can accept it;
// a manager starts its etcd member once its peer URL is listed (the controller added it
// as a learner), and the learner catches up after a delay. A node whose swarm node was
// removed does not rejoin: that would take a reboot.
import { etcdPeerUrl } from '../../model/snapshot.ts';
import type { SimState } from './state.ts';

export function runAgents(world: SimState): void {
  for (const inst of world.instances.values()) {
    if (inst.state === 'terminated') continue;
    if (inst.state === 'pending' && world.now >= inst.bootAt) {
      inst.state = 'running';
      inst.address ??= world.allocateAddress();
    }
    if (!inst.alive || inst.partitioned || inst.frozen || inst.state !== 'running' || inst.address === undefined) continue;
    if (inst.role === 'manager' && !world.initClaimed) {
      initialiseCluster(world, inst.id);
      continue;
    }
    if (!inst.joinedOnce && world.now >= inst.joinAt && world.swarmInitialized && world.swarmQuorumHeld()) {
      world.addSwarmNode(inst, 'worker');
      inst.joinedOnce = true;
    }
    if (inst.role === 'manager') startListedMember(world, inst.address, inst.id);
  }
}

function initialiseCluster(world: SimState, instanceId: string): void {
  const inst = world.instances.get(instanceId);
  if (!inst?.address) return;
  world.initClaimed = true;
  const member = world.addMember(inst.address, { learner: false, started: true, name: inst.id });
  world.swarmInitialized = true;
  world.addSwarmNode(inst, 'manager');
  inst.joinedOnce = true;
  world.publishedClientURLs = [member.clientURL];
  world.afterChange('agent', `${inst.id} initialised etcd and the swarm`);
}

function startListedMember(world: SimState, address: string, name: string): void {
  const peer = etcdPeerUrl(address);
  for (const m of world.members.values()) {
    if (m.peerURL !== peer || m.startedAt !== undefined) continue;
    if (!world.etcdQuorumHeld()) return; // joining needs a leader
    m.name = name;
    m.startedAt = world.now;
    m.caughtUpAt = world.now + world.draw(world.timings.catchUpMs);
    world.afterChange('agent', `etcd member ${m.id} of ${name} started`);
  }
}
