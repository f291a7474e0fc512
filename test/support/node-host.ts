// Boots a node the way Flatcar boots an EC2 instance, from exactly the user-data the
// provider sent, under real systemd (systemd-nspawn) on this machine:
// 1. a fresh root: an overlay over the cached node root (scripts/setup-node-root.sh: a
//    Debian with systemd, dbus, docker.io, curl standing in for the Flatcar image), so
//    every node starts from the same pristine image and writes only its own layer;
// 2. Ignition applies the user-data to that root: the real upstream binary
//    (ignition-apply, github.com/coreos/ignition/v2, built by scripts/setup-ignition.sh)
//    writes the files, units, drop-ins, masks and the enable presets that systemd applies
//    on the first boot;
// 3. the metadata address in the node's metadata script is pointed at an IMDSv2
//    stand-in on loopback (imds.ts): the only substitution; everything else runs as
//    written;
// 4. systemd-nspawn boots the root with systemd as PID 1, sharing the host's network
//    (no --private-network), so the node's etcd, swarm and docker API bind its own
//    loopback address, the instance's private address in moto. The node's
//    /var/lib/docker is a plain directory (docker's overlay2 cannot sit on overlayfs).
//
// kill() is `kill -9` of the node's PID 1: every process of the node dies at once, as
// when an instance is lost. remove() also unmounts and deletes everything it made.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { removeNodeDirs, removeNodeDirsAsync } from '../../src/swarm/node-dirs.ts';
import { NODE_ENV_SCRIPT } from '../../src/cloudconfig/node-model.ts';
import { startImds, type ImdsOptions, type ImdsStandIn } from './imds.ts';
import { ignitionApplyPath, nodeRootPath } from './node-root.ts';

/** EC2's metadata endpoint, as the user-data's metadata script names it. */
export const EC2_METADATA_URL = 'http://169.254.169.254';

export interface BootNodeOptions {
  readonly instanceId: string;
  /** The instance's private address: a loopback address (moto's subnet is 127.x). */
  readonly address: string;
  /** The user-data as sent in RunInstances, decoded (Ignition JSON). */
  readonly userData: string;
  /** A failing metadata service for this node (see ImdsOptions). */
  readonly imds?: ImdsOptions;
  /**
   * Files a test adds to the root after Ignition and before the boot (a drop-in that
   * shortens a timeout, say). Each one is a substitution the test must name.
   */
  readonly testFiles?: readonly { readonly path: string; readonly content: string }[];
}

export interface BootedNode {
  readonly instanceId: string;
  readonly address: string;
  /** The node's root as the host sees it (read its files, e.g. /var/lib/swarmkeeper). */
  readonly root: string;
  readonly imds: ImdsStandIn;
  /** Console output of the node (systemd's boot messages). */
  console(): string;
  /** `journalctl -u <unit>` inside the node, for failure messages. */
  journal(unit: string, lines?: number): string;
  /** The host PID of the node's PID 1 (for nsenter), while it runs. */
  initPid(): number | undefined;
  /** Runs a command inside the node (its mount and PID namespaces, e.g. systemctl) and returns its stdout. */
  exec(command: readonly string[]): string;
  /** kill -9 of the node's PID 1: the instance is lost, nothing shuts down cleanly. */
  kill(): Promise<void>;
  /** Kills the node (if alive), unmounts and removes its root, stops its metadata stand-in. */
  remove(): Promise<void>;
}

const live = new Set<BootedNode>();

/** Last resort when a test run ends without its cleanup: kill every node still up. */
process.once('exit', () => {
  for (const n of live) {
    try {
      execFileSync('kill', ['-9', String(containerInit(n))], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
});
const initPids = new WeakMap<BootedNode, () => number | undefined>();
function containerInit(n: BootedNode): number | undefined {
  return initPids.get(n)?.();
}

export async function bootNodeFromUserData(opts: BootNodeOptions): Promise<BootedNode> {
  const dir = mkdtempSync(`/tmp/skn-${opts.instanceId.slice(-6)}-`);
  const root = join(dir, 'root');
  for (const d of ['upper', 'work', 'root', 'docker']) mkdirSync(join(dir, d));
  let imds: ImdsStandIn | undefined;
  let child: ChildProcess | undefined;
  try {
    execFileSync('mount', [
      '-t',
      'overlay',
      'overlay',
      '-o',
      `lowerdir=${nodeRootPath()},upperdir=${join(dir, 'upper')},workdir=${join(dir, 'work')}`,
      root,
    ]);
    applyIgnition(opts.userData, root, dir);
    imds = await startImds({ instanceId: opts.instanceId, localIpv4: opts.address }, opts.imds);
    pointMetadataAt(root, imds.baseUrl);
    for (const f of opts.testFiles ?? []) {
      mkdirSync(join(root, dirname(f.path)), { recursive: true });
      writeFileSync(join(root, f.path), f.content);
    }
    // A fresh instance: systemd sees its first boot and applies the presets Ignition wrote.
    writeFileSync(join(root, 'etc/machine-id'), 'uninitialized\n');
    // A persistent journal, so the host can read the node's unit logs (journal()).
    mkdirSync(join(root, 'var/log/journal'), { recursive: true });
    child = bootRoot(root, dir, opts.instanceId);
  } catch (err) {
    await imds?.stop();
    removeNodeDirs(dir);
    throw err;
  }
  const proc = child;
  const consolePath = join(dir, 'console.log');
  const init = (): number | undefined => {
    if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return undefined;
    try {
      const children = readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      return children.length > 0 ? Number(children[0]) : undefined;
    } catch {
      return undefined;
    }
  };
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const stopImds = imds;
  const kill = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const pid = init();
    try {
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
      else if (proc.pid !== undefined) process.kill(proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) process.kill(proc.pid, 'SIGKILL');
  };
  const node: BootedNode = {
    instanceId: opts.instanceId,
    address: opts.address,
    root,
    imds: stopImds,
    console: () => (existsSync(consolePath) ? readFileSync(consolePath, 'utf8') : ''),
    journal: (unit, lines = 40) => nodeJournal(root, unit, lines),
    initPid: init,
    exec: (command) => {
      const pid = init();
      if (pid === undefined) throw new Error(`node ${opts.instanceId} is not running`);
      return execFileSync('nsenter', ['--target', String(pid), '--mount', '--pid', '--', ...command], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    },
    kill,
    async remove() {
      await kill();
      live.delete(node);
      await stopImds.stop();
      await removeNodeDirsAsync(dir);
      removeCgroups(opts.instanceId);
    },
  };
  initPids.set(node, init);
  live.add(node);
  return node;
}

/** The real Ignition writes the config into the root, as it does in a Flatcar initramfs. */
function applyIgnition(userData: string, root: string, dir: string): void {
  if (!userData.trimStart().startsWith('{')) {
    throw new Error(
      'node-host boots Ignition user-data only (coreos-cloudinit does not build here): launch with the ignition user-data format',
    );
  }
  const config = join(dir, 'user-data.ign');
  writeFileSync(config, userData, { mode: 0o600 });
  try {
    // ignition-apply refuses to run outside a container (it guards hosts from being
    // rewritten); here it only writes under --root, the node's own directory.
    execFileSync(ignitionApplyPath(), ['--root', root, '--offline', config], {
      env: { ...process.env, container: 'swarmkeeper-node-host' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as { stderr?: Buffer; stdout?: Buffer };
    throw new Error(`ignition-apply failed for ${root}: ${(e.stderr ?? e.stdout ?? '').toString().slice(-2000)}`);
  }
}

/** The one substitution: EC2's link-local metadata address becomes the stand-in's. */
function pointMetadataAt(root: string, baseUrl: string): void {
  const script = join(root, NODE_ENV_SCRIPT);
  const text = readFileSync(script, 'utf8');
  if (!text.includes(EC2_METADATA_URL))
    throw new Error(`${NODE_ENV_SCRIPT} does not name ${EC2_METADATA_URL}: the user-data changed, update node-host`);
  writeFileSync(script, text.replaceAll(EC2_METADATA_URL, baseUrl));
}

/** The cgroup v1/v2 hierarchies a node's processes are moved into (cpuset needs cpus and mems set first: left alone). */
function cgroupHierarchies(): string[] {
  return readdirSync('/sys/fs/cgroup', { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== 'cpuset' && existsSync(`/sys/fs/cgroup/${e.name}/cgroup.procs`))
    .map((e) => `/sys/fs/cgroup/${e.name}`);
}

/**
 * Every node gets a cgroup of its own in every hierarchy before systemd-nspawn starts:
 * with the host's cgroup tree bound into each node, systemd takes the cgroup it was
 * started in as its root, and nodes started in the same cgroup would share one
 * system.slice and move each other's processes.
 */
function bootRoot(root: string, dir: string, instanceId: string): ChildProcess {
  const out = openSync(join(dir, 'console.log'), 'a');
  const cgroups = cgroupHierarchies().map((h) => `${h}/${nodeCgroup(instanceId)}`);
  const enter = cgroups.map((c) => `mkdir -p '${c}' && echo $$ > '${c}/cgroup.procs'`).join(' && ');
  const nspawn = [
    'systemd-nspawn',
    '-D',
    root,
    `--machine=${instanceId}`,
    '--register=no',
    '--keep-unit',
    '--capability=all',
    "'--system-call-filter=@keyring bpf'",
    '--bind=/sys/fs/cgroup',
    `--bind=${join(dir, 'docker')}:/var/lib/docker`,
    // The console's output goes to console.log. Never `passive`: it allocates a pty that
    // nothing reads, and once its buffer is full systemd (PID 1) blocks writing a status
    // line to /dev/console and stops starting units, reaping and answering its bus.
    '--console=read-only',
    '-b',
  ].join(' ');
  try {
    return spawn('sh', ['-c', `${enter} && exec ${nspawn}`], { stdio: ['ignore', out, out] });
  } finally {
    closeSync(out);
  }
}

function nodeCgroup(instanceId: string): string {
  return `swarmkeeper-node-${instanceId}`;
}

/** Removes the node's cgroups, deepest first, once its processes are gone. */
function removeCgroups(instanceId: string): void {
  for (const h of cgroupHierarchies()) {
    const top = `${h}/${nodeCgroup(instanceId)}`;
    if (!existsSync(top)) continue;
    const dirs = [
      top,
      ...readdirSync(top, { recursive: true, withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => join(e.parentPath, e.name)),
    ];
    for (const d of dirs.sort((a, b) => b.length - a.length)) {
      try {
        rmdirSync(d);
      } catch {
        // still busy or already gone: the kernel frees it with its last process
      }
    }
  }
}

function nodeJournal(root: string, unit: string, lines: number): string {
  try {
    return execFileSync('journalctl', ['-D', join(root, 'var/log/journal'), '--no-pager', '-n', String(lines), '-u', unit], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    return `(no journal for ${unit}: ${(err as Error).message.split('\n')[0]})`;
  }
}
