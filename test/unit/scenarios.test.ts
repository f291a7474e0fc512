// Scenario files (test/scenarios/*.yaml): a snapshot in, the planner's steps and holds
// out, reviewable as text (the way etcd-io/raft keeps interaction traces). A scenario
// gives its snapshot either as builder rows (`nodes:` with aManager/aWorker overrides,
// plus `snapshot:` options) or as a full saved Snapshot (`snapshot:` with observedAt).
// UPDATE_SCENARIOS=1 npx vitest run test/unit/scenarios.test.ts rewrites `expect:`.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { plan } from '../../src/plan/plan.ts';
import { describeTarget } from '../../src/plan/format.ts';
import { parseSnapshot } from '../../src/plan/snapshot-file.ts';
import type { PlanResult } from '../../src/plan/steps.ts';
import type { Snapshot } from '../../src/model/snapshot.ts';
import {
  aManager,
  aSnapshot,
  aSpec,
  aWorker,
  type NodeFixture,
  type NodeOptions,
  type SnapshotOptions,
  type SpecOverrides,
} from './builders.ts';

const DIR = new URL('../scenarios/', import.meta.url).pathname;
const UPDATE = process.env.UPDATE_SCENARIOS === '1';

interface Scenario {
  readonly description: string;
  readonly spec?: SpecOverrides;
  readonly nodes?: readonly ({ manager: NodeOptions | null } | { worker: NodeOptions | null })[];
  readonly snapshot?: Record<string, unknown>;
  readonly expect?: Expected;
}

interface Expected {
  readonly phase: PlanResult['phase'];
  readonly steps: string[];
  readonly holds: string[];
}

function buildSnapshot(s: Scenario, file: string): Snapshot {
  const spec = aSpec(s.spec ?? {});
  if (s.snapshot && typeof s.snapshot.observedAt === 'number') return parseSnapshot(s.snapshot, file);
  const nodes: NodeFixture[] = (s.nodes ?? []).map((row) => ('manager' in row ? aManager(row.manager ?? {}) : aWorker(row.worker ?? {})));
  return aSnapshot({ ...(s.snapshot as Partial<SnapshotOptions> | undefined), spec, nodes });
}

export function renderResult(r: PlanResult): Expected {
  return {
    phase: r.phase,
    steps: r.steps.map((s) => `${s.kind} ${describeTarget(s)} [${s.rule}]: ${s.reason}`),
    holds: r.holds.map((h) => `${h.rule} ${h.reason}: ${h.message}`),
  };
}

const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

describe('scenario files', () => {
  it('there are scenarios', () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
  });

  it.each(files)('%s', (file) => {
    const path = join(DIR, file);
    const doc = parseDocument(readFileSync(path, 'utf8'));
    const scenario = doc.toJS() as Scenario;
    const snapshot = buildSnapshot(scenario, file);
    const actual = renderResult(plan(aSpec(scenario.spec ?? {}), snapshot, { now: snapshot.observedAt }));
    if (UPDATE) {
      doc.set('expect', actual);
      writeFileSync(path, doc.toString({ lineWidth: 0 }));
      return;
    }
    expect(scenario.expect, `${file} has no expect: run with UPDATE_SCENARIOS=1`).toBeDefined();
    expect(actual).toEqual(scenario.expect);
  });
});
