// An observation of a cluster whose etcd is one test member and that has no swarm: what
// takeBackup() needs to stream a snapshot in tests without a whole cluster.
import type { Snapshot } from '../../src/model/snapshot.ts';
import type { EtcdTestMember } from './etcd.ts';

export function etcdOnlySnapshot(m: EtcdTestMember | undefined): Snapshot {
  return {
    observedAt: Date.now(),
    instances: { status: 'ok', value: [] },
    swarm: { status: 'unavailable', error: 'no swarm in this test' },
    etcd: {
      status: 'ok',
      value: {
        members: [
          {
            id: '1',
            name: m?.name ?? 'm',
            peerURLs: [m?.peerUrl ?? ''],
            clientURLs: [m?.clientUrl ?? ''],
            isLearner: false,
            healthy: true,
            leader: true,
          },
        ],
        alarms: [],
      },
    },
    marks: [],
    operations: [],
    controls: [],
  };
}
