// Health detectors: pure judgements over one observation. They turn what the controller
// sees itself (swarm node state, etcd member health, EC2 status checks, nodes that never
// joined) into health marks, the same evidence an alert produces (design rule 11).
//
// Contract:
// - A condition must last `unhealthyAfterSeconds` before it becomes a mark; the first
//   time each condition was seen is kept in `DetectorMemory`, which the caller passes
//   back next cycle (in memory: a new leader starts counting again, which only delays).
// - A mark's `since` is when the condition was first seen (startup: the deadline), so a
//   hold-down the planner counts from `since` is not served twice.
// - A source that could not be read is no evidence either way: its suspicions and marks
//   are kept as they are, never set or cleared from a partial picture.
// - Marks carry `expiresAt` and are refreshed when half their lifetime is gone, so a dead
//   controller's marks fade out instead of driving a later replacement.
// Pure: no clock, no I/O; `now` is an argument.
import type { EtcdMember, HealthMark, HealthMarkSource, Instance, Snapshot, SwarmNode } from '../model/snapshot.ts';
import { etcdPeerUrl, urlHost } from '../model/snapshot.ts';
import type { ResolvedSpec } from '../spec/defaults.ts';

export type DetectorSource = Extract<HealthMarkSource, `detector:${string}`>;

export const DETECTOR_SOURCES: readonly DetectorSource[] = ['detector:swarm', 'detector:etcd', 'detector:startup', 'detector:ec2'];

/** First time each suspicious condition was seen, keyed `<instance id>/<source>`. */
export type DetectorMemory = Readonly<Record<string, number>>;

export interface DetectInput {
  readonly snapshot: Pick<Snapshot, 'instances' | 'swarm' | 'etcd' | 'marks'>;
  readonly healing: Pick<ResolvedSpec['healing'], 'unhealthyAfterSeconds' | 'nodeStartupTimeoutSeconds'>;
  readonly memory: DetectorMemory;
  readonly now: number;
  /** How long a detector mark lives without being refreshed; default 3 × unhealthyAfter, at least 10 min. */
  readonly markTtlSeconds?: number;
}

export interface MarkRef {
  readonly instanceId: string;
  readonly source: HealthMarkSource;
}

export interface DetectResult {
  /** Marks to write: new ones and ones due for a refresh. */
  readonly set: readonly HealthMark[];
  /** Detector marks whose condition no longer holds. */
  readonly clear: readonly MarkRef[];
  readonly memory: DetectorMemory;
}

interface Finding {
  readonly instanceId: string;
  readonly source: DetectorSource;
  readonly reason: string;
  /** When the condition began, if known from the observation itself (startup deadline). */
  readonly since?: number;
  /** Startup findings are failures the moment they are found; the others need to last. */
  readonly immediate?: boolean;
}

/** Judges one observation; returns the marks to set and clear and the updated memory. */
export function detectHealthMarks(input: DetectInput): DetectResult {
  const { snapshot, healing, now } = input;
  const holdMs = healing.unhealthyAfterSeconds * 1000;
  const ttlMs = (input.markTtlSeconds ?? Math.max(3 * healing.unhealthyAfterSeconds, 600)) * 1000;
  const readable = readableSources(snapshot);
  const findings = findSuspects(snapshot, healing, now);

  const memory: Record<string, number> = {};
  // Suspicions of sources not read this cycle stay as they were (no evidence either way).
  for (const [key, firstSeen] of Object.entries(input.memory)) {
    if (!readable.has(sourceOfKey(key))) memory[key] = firstSeen;
  }
  const existing = new Map(snapshot.marks.map((m) => [keyOf(m.instanceId, m.source), m]));
  const set: HealthMark[] = [];
  const found = new Set<string>();
  for (const f of findings) {
    const key = keyOf(f.instanceId, f.source);
    found.add(key);
    const firstSeen = f.since ?? input.memory[key] ?? now;
    memory[key] = firstSeen;
    const mark = existing.get(key);
    const due = f.immediate || now - firstSeen >= holdMs;
    if (!due && !mark) continue;
    const since = mark ? Math.min(mark.since, firstSeen) : firstSeen;
    if (mark && mark.expiresAt !== undefined && mark.expiresAt - now > ttlMs / 2) continue;
    set.push({ instanceId: f.instanceId, source: f.source, reason: f.reason, since, expiresAt: now + ttlMs });
  }
  const clear: MarkRef[] = [];
  for (const m of snapshot.marks) {
    if (!isDetectorSource(m.source) || !readable.has(m.source)) continue;
    if (!found.has(keyOf(m.instanceId, m.source))) clear.push({ instanceId: m.instanceId, source: m.source });
  }
  return { set: sortMarks(set), clear: sortMarks(clear), memory };
}

function findSuspects(snapshot: DetectInput['snapshot'], healing: DetectInput['healing'], now: number): Finding[] {
  const instances = snapshot.instances.status === 'ok' ? snapshot.instances.value : undefined;
  const live = instances?.filter((i) => i.state === 'running' || i.state === 'pending');
  const liveIds = live ? new Set(live.map((i) => i.id)) : undefined;
  const out: Finding[] = [];

  if (snapshot.swarm.status === 'ok') {
    for (const node of snapshot.swarm.value.nodes) {
      // Nodes of instances that are going away are the controller's own doing.
      if (!node.instanceId || (liveIds && !liveIds.has(node.instanceId))) continue;
      if (isSwarmNodeDown(node)) {
        out.push({ instanceId: node.instanceId, source: 'detector:swarm', reason: `Swarm node ${node.id} is ${node.state}` });
      }
    }
    if (live) {
      const joined = new Set(snapshot.swarm.value.nodes.map((n) => n.instanceId).filter((id): id is string => id !== undefined));
      for (const inst of live) {
        const deadline = inst.launchedAt + healing.nodeStartupTimeoutSeconds * 1000;
        if (!joined.has(inst.id) && now >= deadline) {
          out.push({
            instanceId: inst.id,
            source: 'detector:startup',
            reason: `Instance did not join the swarm within ${healing.nodeStartupTimeoutSeconds}s of its launch`,
            since: deadline,
            immediate: true,
          });
        }
      }
    }
  }

  if (snapshot.etcd.status === 'ok' && live) {
    for (const inst of live) {
      if (inst.role !== 'manager') continue;
      const member = memberOf(inst, snapshot.etcd.value.members);
      if (!member || member.healthy !== false) continue;
      // A learner that has not caught up yet is a node still starting: the startup
      // timeout covers it, not the unhealthy hold-down.
      if (member.isLearner && now < inst.launchedAt + healing.nodeStartupTimeoutSeconds * 1000) continue;
      out.push({ instanceId: inst.id, source: 'detector:etcd', reason: `etcd member ${member.id} is not responding` });
    }
  }

  for (const inst of live ?? []) {
    if (inst.statusChecksOk === false) {
      out.push({ instanceId: inst.id, source: 'detector:ec2', reason: 'EC2 status checks are failing' });
    }
  }
  return out;
}

function isSwarmNodeDown(node: SwarmNode): boolean {
  return node.state === 'down' || node.state === 'unknown' || node.state === 'disconnected';
}

/** The etcd member of a manager instance: by peer URL host (a learner's name is empty), else by name. */
export function memberOf(inst: Instance, members: readonly EtcdMember[]): EtcdMember | undefined {
  if (inst.address) {
    const peer = etcdPeerUrl(inst.address);
    const byUrl = members.find((m) => m.peerURLs.some((u) => u === peer || urlHost(u) === inst.address));
    if (byUrl) return byUrl;
  }
  return members.find((m) => m.name !== '' && m.name === inst.id);
}

/** Sources whose input was read completely this cycle. */
function readableSources(snapshot: DetectInput['snapshot']): Set<DetectorSource> {
  const ok = new Set<DetectorSource>();
  const inst = snapshot.instances.status === 'ok';
  const swarm = snapshot.swarm.status === 'ok';
  if (swarm) ok.add('detector:swarm');
  if (swarm && inst) ok.add('detector:startup');
  if (inst && snapshot.etcd.status === 'ok') ok.add('detector:etcd');
  if (inst) ok.add('detector:ec2');
  return ok;
}

export function isDetectorSource(source: HealthMarkSource): source is DetectorSource {
  return source.startsWith('detector:');
}

function keyOf(instanceId: string, source: HealthMarkSource): string {
  return `${instanceId}/${source}`;
}

function sourceOfKey(key: string): DetectorSource {
  return key.slice(key.lastIndexOf('/') + 1) as DetectorSource;
}

function sortMarks<T extends MarkRef>(list: T[]): T[] {
  return list.sort((a, b) => (a.instanceId === b.instanceId ? a.source.localeCompare(b.source) : a.instanceId.localeCompare(b.instanceId)));
}
