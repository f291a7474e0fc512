// The operator's verbs on a real local cluster (1 manager + 1 worker: dockerd, etcd and
// node agents as processes) driven through the real CLI while a controller runs:
// `get -w` printing the cluster as it changes and `status -w` reprinting, both ending
// with exit 0 on SIGINT; `apply --wait` following the controller's steps to Ready, and
// exiting 1 on a short timeout; node drain/uncordon carried out by the planner and seen
// in the swarm; a request for an
// unknown instance refused with nothing written; `wait` exit codes; `delete --wait`
// leaving no process, mount, directory, address or key of the cluster behind; a cascade
// refused when no controller runs, and --cascade=orphan then removing the keys only.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POOL_DIR } from '../../src/net/loopback-pool.ts';
import { EtcdMarkStore } from '../../src/store/mark-store.ts';
import { startControllerHarness, type ControllerHarness } from '../support/controller-harness.ts';
import { processesNaming } from '../support/processes.ts';
import { until as pollUntil } from '../support/until.ts';
import type { WiredController } from '../../src/controller/wire.ts';

const BIN = fileURLToPath(new URL('../../bin/swarmkeeper.js', import.meta.url));
let h: ControllerHarness;
let controller: WiredController | undefined;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The CLI as a user runs it; asynchronous, so the in-process controller keeps running. */
function sk(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: cliEnv(), timeout: 400_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function cliEnv(): NodeJS.ProcessEnv {
  return { ...process.env, SWARMKEEPER_ETCD_ENDPOINTS: h.mgmt.endpoints.join(','), SWARMKEEPER_PREFIX: h.prefix };
}

interface Watching {
  /** Resolves once stdout matches `re`. */
  until(re: RegExp, timeoutMs: number): Promise<string>;
  /** Sends SIGINT; resolves with the exit code. */
  interrupt(): Promise<number | null>;
  /** Resolves with the exit code and the whole output once the command exits by itself. */
  exited(): Promise<Run>;
}

/** A long-running CLI command (`get -w`, `status -w`) whose output is read as it comes. */
function skWatching(...args: string[]): Watching {
  const child = spawn(process.execPath, [BIN, ...args], { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    async until(re, timeoutMs) {
      // Stops waiting early when the command exits: its output will not change any more.
      await pollUntil(`${args.join(' ')} to print ${re}`, () => re.test(out) || child.exitCode !== null, {
        timeoutMs,
        intervalMs: 100,
      }).catch(() => undefined);
      if (!re.test(out)) throw new Error(`${args.join(' ')}: no ${re} in\n${out}\nstderr:\n${err}`);
      return out;
    },
    async exited() {
      return { code: (await exited) ?? -1, stdout: out, stderr: err }; // -1: killed by a signal
    },
    async interrupt() {
      child.kill('SIGINT');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** The document h.apply writes, as a file for `apply -f`. */
function clusterFile(name: string, managers: number, workers: number): string {
  const file = join(h.baseDir, `${name}.json`);
  writeFileSync(file, JSON.stringify(h.doc(name, managers, workers)));
  return file;
}

beforeAll(async () => {
  h = await startControllerHarness({ block: 217 });
}, 120_000);
afterAll(async () => {
  await h?.stop();
}, 120_000);

describe('operator verbs on a real local cluster', () => {
  it('get -w and apply --wait follow the build; drain and uncordon a worker (status -w reprints), refuse an unknown instance, wait, then delete leaving nothing behind', async () => {
    const getWatch = skWatching('get', '-w');
    // h.apply registers the cluster for the harness's clean-up; apply --wait then writes
    // the same document (unchanged) and follows the controller's steps to Ready. The
    // controller starts only once apply --wait follows: the steps it took before would
    // not be narrated (a loaded machine starts the CLI slower than the first launch).
    await h.apply('verbs', 1, 1);
    const applying = skWatching('apply', '-f', clusterFile('verbs', 1, 1), '--wait', '--timeout=4m');
    await applying.until(/verbs unchanged/, 60_000);
    controller = await h.startController('verbs-1');
    const applied = await applying.exited();
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('swarmcluster.swarmkeeper.dev/verbs unchanged');
    expect(applied.stdout).toMatch(/^step instance\.launch \S+: (running|done)/m);
    expect(applied.stdout).toContain('swarmcluster.swarmkeeper.dev/verbs condition met (Ready, generation 1)');
    await h.waitConverged('verbs', 1, 1, 60_000);
    // get -w printed the header and then the cluster's lines as it was built, up to Ready.
    const watched = await getWatch.until(/^verbs\s+1\/1\s+1\/1\s+Ready/m, 30_000);
    expect(watched.split('\n')[0]).toMatch(/^NAME\s+MANAGERS\s+WORKERS\s+PHASE\s+AGE$/);
    expect(watched.split('\n').filter((l) => l.startsWith('verbs ')).length).toBeGreaterThan(1);
    expect(await getWatch.interrupt()).toBe(0);
    const instances = await h.instances('verbs');
    const worker = instances.find((i) => i.role === 'worker');
    expect(worker).toBeDefined();
    const wid = worker?.id ?? '';

    // wait: met at once (exit 0), a condition that does not come times out (exit 1).
    expect((await sk('wait', 'verbs', '--for=condition=Ready', '--timeout=60s')).code).toBe(0);
    const timedOut = await sk('wait', 'verbs', '--for=condition=Ready=false', '--timeout=2s');
    expect(timedOut.code).toBe(1);
    expect(timedOut.stderr).toContain('timed out waiting for the condition Ready=False');
    expect((await sk('wait', 'verbs', '--for=bogus')).code).toBe(2);

    // An unknown instance: refused, nothing written.
    const unknown = await sk('node', 'drain', 'verbs', 'no-such-node');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('has no node "no-such-node"');
    const marks = new EtcdMarkStore(h.client, { prefix: h.prefix });
    expect(await marks.listControls('verbs')).toEqual([]);

    // drain: the planner sets the swarm availability, the journal and status show it;
    // status -w, started before, prints the view again with the change.
    const statusWatch = skWatching('status', 'verbs', '-w');
    await statusWatch.until(new RegExp(wid), 30_000);
    const drained = await sk('node', 'drain', 'verbs', wid);
    expect(drained.code, drained.stderr).toBe(0);
    await h.waitFor(
      'the worker drained',
      async () => (await h.status('verbs'))?.nodes?.find((n) => n.instanceId === wid && n.availability === 'drain'),
      60_000,
    );
    expect((await h.journalOf('verbs')).some((e) => e.stepKind === 'swarm.setAvailability' && e.target === wid && e.state === 'done')).toBe(
      true,
    );
    const status = await sk('status', 'verbs');
    expect(status.stdout).toMatch(new RegExp(`${wid}.*drain`));
    await statusWatch.until(new RegExp(`${wid}.*drain`), 30_000);
    expect(await statusWatch.interrupt()).toBe(0);
    // The drained worker is kept, not replaced: the cluster stays at one worker.
    expect((await h.instances('verbs')).map((i) => i.id).sort()).toEqual(instances.map((i) => i.id).sort());

    expect((await sk('node', 'uncordon', 'verbs', wid)).code).toBe(0);
    await h.waitFor(
      'the worker active again',
      async () => (await h.status('verbs'))?.nodes?.find((n) => n.instanceId === wid && n.availability === 'active'),
      60_000,
    );

    // delete --wait: the controller takes every node down, then the keys go.
    const nodeDirs = instances.map((i) => i.tags['swarmkeeper.local/node-dir'] ?? '');
    const addresses = instances.map((i) => i.address ?? '');
    expect(nodeDirs.every((d) => d !== '' && existsSync(d))).toBe(true);
    const deleted = await sk('delete', 'verbs', '--wait', '--timeout=5m');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain('swarmcluster.swarmkeeper.dev "verbs" deleted');
    expect(await h.client.getAll().prefix(`${h.prefix}/clusters/verbs/`).keys()).toEqual([]);
    for (const i of instances) expect(processesNaming(i.id), `processes of ${i.id}`).toEqual([]);
    for (const d of nodeDirs) {
      expect(processesNaming(d), `processes under ${d}`).toEqual([]);
      expect(existsSync(d), d).toBe(false);
    }
    expect(
      readFileSync('/proc/mounts', 'utf8')
        .split('\n')
        .filter((l) => l.includes(h.baseDir)),
    ).toEqual([]);
    expect(existsSync(join(h.baseDir, 'state', 'verbs'))).toBe(false);
    for (const a of addresses) expect(existsSync(join(DEFAULT_POOL_DIR, a)), `reservation of ${a}`).toBe(false);
    expect((await sk('wait', 'verbs', '--for=delete', '--timeout=5s')).code).toBe(0);
  }, 600_000);

  it('refuses a cascade when no controller runs; --cascade=orphan removes the keys only', async () => {
    if (controller) await h.stopController(controller);
    controller = undefined;
    await h.apply('idle', 1, 0);
    // apply --wait with no controller: Ready never comes, exit 1 on the timeout.
    const waited = await sk('apply', '-f', clusterFile('idle', 1, 0), '--wait', '--timeout=2s');
    expect(waited.code).toBe(1);
    expect(waited.stderr).toContain('timed out waiting for the condition Ready=True on swarmclusters.swarmkeeper.dev/idle (generation 1)');
    const refused = await sk('delete', 'idle');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('no swarmkeeper controller is running');
    expect(refused.stderr).toContain('--cascade=orphan');
    expect((await h.store.get('idle'))?.cluster.metadata.deletionTimestamp).toBeUndefined();
    const orphaned = await sk('delete', 'idle', '--cascade=orphan');
    expect(orphaned.code, orphaned.stderr).toBe(0);
    expect(await h.client.getAll().prefix(`${h.prefix}/clusters/idle/`).keys()).toEqual([]);
    expect((await sk('delete', 'idle')).code).toBe(1); // not found
  }, 120_000);
});
