// SimWorld: a seeded, in-memory world with a virtual clock, for property tests and
// scale benchmarks. It implements the Provider, SwarmApi and EtcdMembershipApi ports
// over one model (world-state.ts, types in model.ts); node agents follow the real join protocol (src/node/agent-decide.ts): the
// first manager initialises etcd and the swarm, every node joins the swarm as a worker,
// a manager starts etcd once its peer URL is listed as a learner, and learners catch up
// after a delay. It plays the real quorum arithmetic and records every moment a raft
// lost quorum, and whether a controller call (or a fault) caused it.
//
// Time moves only through advance(); randomness only through the injected source.
import { SimEtcd } from './sim-etcd.ts';
import { SimProvider } from './sim-provider.ts';
import { SimSwarm } from './sim-swarm.ts';
import type { Range } from './model.ts';
import { WorldState, type SimWorldOptions } from './world-state.ts';

export type { SimWorldOptions };

/** The world with its Provider, SwarmApi and EtcdMembershipApi adapters, and the faults a test injects. */
export class SimWorld extends WorldState {
  readonly provider: SimProvider;
  readonly swarm: SimSwarm;
  readonly etcd: SimEtcd;

  constructor(opts: SimWorldOptions = {}) {
    super(opts);
    this.provider = new SimProvider(this);
    this.swarm = new SimSwarm(this);
    this.etcd = new SimEtcd(this);
  }

  /** The node dies: it stops answering; the provider keeps listing it as running. */
  kill(id: string): void {
    const inst = this.instances.get(id);
    if (!inst || !inst.alive) return;
    inst.alive = false;
    this.afterChange('fault', `node ${id} died`);
  }

  /** The provider terminates the instance behind our back (spot reclaim, operator). */
  terminateExternally(id: string): void {
    this.removeInstance(id, 'fault');
  }

  partition(id: string): void {
    const inst = this.instances.get(id);
    if (!inst) return;
    inst.partitioned = true;
    this.afterChange('fault', `node ${id} partitioned`);
  }

  /** The node hangs: alive, listed as running, answering nobody (raft peers included). */
  freeze(id: string): void {
    const inst = this.instances.get(id);
    if (!inst || inst.frozen) return;
    inst.frozen = true;
    this.afterChange('fault', `node ${id} froze`);
  }

  thaw(id: string): void {
    const inst = this.instances.get(id);
    if (!inst || !inst.frozen) return;
    inst.frozen = false;
    this.afterChange('fault', `node ${id} answers again`);
  }

  /** The controller loses its route to the node; the node and its raft peers are fine. */
  cutFromController(id: string, cut: boolean): void {
    const inst = this.instances.get(id);
    if (inst) inst.cutFromController = cut;
  }

  /** Boots of instances launched from now on take `bootMs` (e.g. past the startup timeout). */
  slowBoots(bootMs: Range): void {
    this.timings = { ...this.timings, bootMs };
  }

  healPartition(id: string): void {
    const inst = this.instances.get(id);
    if (!inst) return;
    inst.partitioned = false;
    this.afterChange('fault', `partition of ${id} healed`);
  }
}
