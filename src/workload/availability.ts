// Samples the running replicas of every replicated service every 100 ms while the
// cluster changes, through whichever manager answers, and keeps the lowest count seen
// per service. A task counts when swarm wants it running and it is running: a task
// being stopped by a drain no longer counts, so the figure is a lower bound.
// A sample no manager answered (a leader election) is counted apart as unanswered,
// never as zero running.
//
// phase() closes a window (a stage of the demo, a scenario of a test) and starts the
// next; stop() reports the whole run.
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import type { DockerEndpoint } from '../swarm/docker-endpoint.ts';
import { dockerOf, listServiceTasks, type ServiceTasks } from './services.ts';

export interface ServiceAvailability {
  readonly service: string;
  readonly replicas: number;
  /** Lowest running count seen in the window. */
  readonly lowest: number;
  /** Running count of the window's last sample. */
  readonly latest: number;
}

export interface AvailabilityReport {
  readonly samples: number;
  /** Samples no manager answered in time. */
  readonly unanswered: number;
  readonly services: readonly ServiceAvailability[];
}

export interface AvailabilitySampler {
  /** Closes the current window and returns its figures; the next window starts now. */
  phase(): AvailabilityReport;
  /** Stops sampling; the figures of the whole run. */
  stop(): Promise<AvailabilityReport>;
}

export interface SampleOptions {
  /** The managers to ask, re-read every sample (managers change during a rollout). */
  readonly managers: () => Promise<readonly DockerEndpoint[]>;
  readonly intervalMs?: number;
  /** Per-manager answer limit; default 1 s. */
  readonly answerMs?: number;
}

interface Window {
  samples: number;
  unanswered: number;
  lowest: Map<string, number>;
  latest: Map<string, number>;
  replicas: Map<string, number>;
}

export function sampleAvailability(opts: SampleOptions): AvailabilitySampler {
  const intervalMs = opts.intervalMs ?? 100;
  const clients = new Map<string, Docker>();
  const whole = newWindow();
  let current = newWindow();
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      const seen = await sampleOnce(opts, clients).catch(() => undefined);
      for (const w of [whole, current]) record(w, seen);
      await sleep(Math.max(0, intervalMs - (Date.now() - started)));
    }
  })();
  return {
    phase() {
      const out = reportOf(current);
      current = newWindow();
      return out;
    },
    async stop() {
      running = false;
      await loop;
      return reportOf(whole);
    },
  };
}

async function sampleOnce(opts: SampleOptions, clients: Map<string, Docker>): Promise<ServiceTasks[] | undefined> {
  for (const endpoint of await opts.managers()) {
    const key = JSON.stringify(endpoint);
    let docker = clients.get(key);
    if (!docker) {
      docker = dockerOf(endpoint, opts.answerMs ?? 1_000);
      clients.set(key, docker);
    }
    try {
      return await listServiceTasks(docker);
    } catch {
      // not a manager (any more), or electing a leader: ask the next one
    }
  }
  return undefined;
}

function newWindow(): Window {
  return { samples: 0, unanswered: 0, lowest: new Map(), latest: new Map(), replicas: new Map() };
}

function record(w: Window, seen: readonly ServiceTasks[] | undefined): void {
  w.samples++;
  if (!seen) {
    w.unanswered++;
    return;
  }
  for (const s of seen) {
    if (s.replicas === undefined) continue;
    w.replicas.set(s.service, s.replicas);
    w.latest.set(s.service, s.running);
    w.lowest.set(s.service, Math.min(w.lowest.get(s.service) ?? s.running, s.running));
  }
}

function reportOf(w: Window): AvailabilityReport {
  const services = [...w.replicas.keys()].sort().map((service) => ({
    service,
    replicas: w.replicas.get(service) ?? 0,
    lowest: w.lowest.get(service) ?? 0,
    latest: w.latest.get(service) ?? 0,
  }));
  return { samples: w.samples, unanswered: w.unanswered, services };
}
