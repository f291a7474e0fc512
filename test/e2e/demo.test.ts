// `swarmkeeper demo` as a user runs it: the CLI as a child process. The sim run goes
// through all three stages; the local run is interrupted with SIGINT while nodes are
// starting and must leave no process, mount, directory or address behind.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_POOL_DIR } from '../../src/net/loopback-pool.ts';
import { processesNaming } from '../support/processes.ts';
import { until } from '../support/until.ts';

const CLI = fileURLToPath(new URL('../../bin/swarmkeeper.js', import.meta.url));

interface Run {
  output: () => string;
  exited: Promise<number | null>;
  signal: (sig: NodeJS.Signals) => void;
}

const runs: { run: Run; done: boolean }[] = [];

// A failing test must not leave a demo behind: kill it, then take down what it left.
afterAll(async () => {
  for (const r of runs.filter((x) => !x.done)) {
    r.run.signal('SIGKILL');
    await r.run.exited;
  }
  for (const r of runs) {
    const dir = /state in (\/tmp\/skd-\S+)/.exec(r.run.output())?.[1];
    if (dir && existsSync(dir)) {
      await new Promise((resolve) => spawn(process.execPath, [CLI, 'demo', '--down', dir], { stdio: 'ignore' }).once('exit', resolve));
    }
  }
});

function runDemo(args: string[]): Run {
  const child = spawn(process.execPath, [CLI, 'demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const entry = { run: undefined as unknown as Run, done: false };
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      entry.done = true;
      resolve(code);
    }),
  );
  entry.run = { output: () => out, exited, signal: (sig) => child.kill(sig) };
  runs.push(entry);
  return entry.run;
}

describe('swarmkeeper demo', () => {
  it('runs create, scale and self-heal with the sim provider and cleans up', async () => {
    const run = runDemo(['--provider', 'sim', '--timeout', '180', '-o', 'json']);
    const code = await run.exited;
    const out = run.output();
    expect(code, out).toBe(0);
    expect(out).toContain('== 1/3 Creating cluster demo: 3 managers, 2 workers');
    expect(out).toContain('== 2/3 Scaling workers 2 -> 3');
    expect(out).toMatch(/== 3\/3 Self-heal: killing manager \S+/);
    expect(out).toMatch(/etcd +quorum kept/);
    expect(out).toMatch(/swarm +quorum kept/);
    expect(out).toContain('Nothing left running.');
    // One table per stage, and one of the dead manager as the controller first saw it.
    expect(out.match(/ROLE +INSTANCE +ADDRESS/g)).toHaveLength(4);
    expect(out).toMatch(/the controller saw \S+ dead after/);
    // -o json: the summary, written in one piece on stdout.
    const json = /\n(\{\n {2}"cluster"[\s\S]*?\n\})\n/.exec(out)?.[1];
    expect(json, out).toBeDefined();
    const summary = JSON.parse(json!) as {
      cluster: string;
      provider: string;
      stages: { stage: string; seconds: number; phase: string }[];
      quorum: string[];
    };
    expect(summary).toMatchObject({ cluster: 'demo', provider: 'sim' });
    expect(summary.stages).toHaveLength(3);
    expect(summary.stages.every((s) => s.seconds > 0 && s.phase !== '?')).toBe(true);
    expect(summary.quorum).toHaveLength(2);
  });

  it('stops cleanly on SIGINT while local nodes are starting: no process, mount, directory or address left', async () => {
    const run = runDemo(['--provider', 'local', '--timeout', '300']);
    // Before its first launch the demo starts a management etcd and a registry and pushes
    // the sample image; on a CI machine busy with an image build that took over 120 s once.
    await until('a local node to be launched', () => /Launching \d+ (manager|worker)/.test(run.output()), {
      timeoutMs: 240_000,
      intervalMs: 200,
      context: () => `the demo printed:\n${run.output().slice(-4000)}`,
    });
    const dir = /state in (\/tmp\/skd-\S+)/.exec(run.output())?.[1];
    expect(dir).toBeDefined();
    await until('a node directory', () => existsSync(`${dir}/n`) && readdirSync(`${dir}/n`).length > 0, {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    run.signal('SIGINT');
    const code = await run.exited;
    const out = run.output();
    expect(code, out).toBe(130);
    expect(out).toContain('Nothing left running.');
    expect(processesNaming(dir!), out).toEqual([]);
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(dir!);
    expect(existsSync(dir!)).toBe(false);
    const mgmtAddress = /Management etcd at http:\/\/([\d.]+):2379/.exec(out)?.[1];
    expect(mgmtAddress, out).toBeDefined();
    expect(existsSync(`${DEFAULT_POOL_DIR}/${mgmtAddress}`)).toBe(false);
    // The sample service's registry went with it.
    const registryAddress = /Image registry at ([\d.]+):\d+/.exec(out)?.[1];
    expect(registryAddress, out).toBeDefined();
    expect(existsSync(`${DEFAULT_POOL_DIR}/${registryAddress}`)).toBe(false);
  }, 420_000);
});
