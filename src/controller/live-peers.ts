// The clients the controller reaches real peers with (dockerd by its endpoint, the
// cluster etcd by its members' client URLs), shared by `run` and `plan` so both observe
// a cluster the same way.
import { EtcdMembership } from '../etcd/etcd-membership.ts';
import type { PeerFactories } from '../observe/peer-clients.ts';
import { DockerSwarm } from '../swarm/docker-swarm.ts';

export function livePeerFactories(): PeerFactories {
  return {
    swarm: (endpoint) => new DockerSwarm(endpoint),
    etcd: (urls) => new EtcdMembership({ endpoints: urls, callTimeoutMs: 2000 }),
  };
}
