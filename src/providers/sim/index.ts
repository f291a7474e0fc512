// The sim provider: a seeded in-memory world (see world.ts).
export { SimWorld, type SimWorldOptions } from './world.ts';
export { SeededRandom, type RandomSource } from './rng.ts';
export { SimProvider, toInstance } from './sim-provider.ts';
export { SimSwarm } from './sim-swarm.ts';
export { SimEtcd } from './sim-etcd.ts';
export { DEFAULT_TIMINGS, NO_FAULTS, type FaultRates, type QuorumEvent, type SimTimings } from './model.ts';
export { simPeerFactories, type SimPeerOptions } from './sim-peers.ts';
