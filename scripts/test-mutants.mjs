#!/usr/bin/env node
// npm run test:mutants: plants each bug of scripts/mutants/*.patch in a temporary copy of
// the project (production code carries no mutant switch), runs the property histories
// there, and reports whether the histories caught it, by which invariant, and after how
// many histories. Exits 1 when a mutant survives. SIM_RUNS (default 400) bounds the
// histories per mutant; MUTANTS=a,b picks some.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const runs = process.env.SIM_RUNS ?? '400';
const only = process.env.MUTANTS?.split(',');
const patches = readdirSync(join(root, 'scripts/mutants'))
  .filter((f) => f.endsWith('.patch'))
  .filter((f) => !only || only.includes(basename(f, '.patch')))
  .sort();

const results = [];
for (const patch of patches) {
  const name = basename(patch, '.patch');
  const dir = mkdtempSync(join(tmpdir(), `swarmkeeper-mutant-${name}-`));
  try {
    const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    for (const f of files) cpSync(join(root, f), join(dir, f), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    execFileSync('git', ['apply', join(root, 'scripts/mutants', patch)], { cwd: dir });
    const t0 = Date.now();
    const out = spawnSync('npx', ['vitest', 'run', 'test/unit/plan-properties-a.test.ts'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, SIM_RUNS: runs, FORCE_COLOR: '0' },
    });
    const text = `${out.stdout}\n${out.stderr}`;
    const after = /history (\d+) of this run failed first/.exec(text)?.[1];
    const invariants = [...new Set([...text.matchAll(/^\s+([a-z-]+): .*\[t=/gm)].map((m) => m[1]))];
    const caught = out.status !== 0 && after !== undefined;
    results.push({ name, caught, after, invariants, seconds: Math.round((Date.now() - t0) / 1000) });
    const line = caught
      ? `CAUGHT    ${name}: after ${after} histor${after === '1' ? 'y' : 'ies'}, by ${invariants.join(', ') || 'a failing history'} (${results.at(-1).seconds}s)`
      : `SURVIVED  ${name}: ${runs} histories passed (${results.at(-1).seconds}s)`;
    process.stdout.write(`${line}\n`);
    if (caught) {
      const detail = text.split('\n').filter((l) => /^\s+[a-z-]+: .*\[t=|^history: |^replay: /.test(l));
      process.stdout.write(`${detail.map((l) => `          ${l.trim()}`).join('\n')}\n`);
    } else if (out.status !== 0) {
      process.stdout.write(`${text.slice(-2000)}\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const survived = results.filter((r) => !r.caught);
process.stdout.write(`\n${results.length - survived.length} of ${results.length} mutants caught\n`);
process.exit(survived.length === 0 ? 0 : 1);
