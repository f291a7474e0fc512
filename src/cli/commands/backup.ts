// `swarmkeeper backup list NAME | create NAME | describe BACKUP`: the backups of a
// cluster in the store its spec names (spec.backup.store, or the local provider's
// directory). `create` takes one now, as the controller does on its schedule (an etcd
// snapshot from a healthy member plus the swarm's exported state). `describe` reads a
// backup back and verifies every artifact's checksum and the etcd snapshot's own hash.
import type { Command } from 'commander';
import { SwarmkeeperError } from '../../errors.ts';
import type { ResolvedSpec } from '../../spec/defaults.ts';
import { resolveCluster } from '../../spec/defaults.ts';
import type { EtcdClusterStore } from '../../store/etcd-store.ts';
import { notFound, withStore } from '../input.ts';
import { formatAge, parseOutputFormat, printTable } from '../output.ts';
import type { BackupManifest } from '../../backup/backup-catalog.ts';

const NAME_PATTERN = /^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)-\d{8}t\d{9}z-(scheduled|pre-change|manual)$/;

export function registerBackup(program: Command): void {
  const backup = program.command('backup').description("List, take and inspect a cluster's backups (etcd snapshot and swarm state)");
  backup
    .command('list')
    .description('List the backups of a cluster, newest first')
    .argument('<name>', 'cluster name')
    .option('-o, --output <format>', 'yaml, json or name (default: table)')
    .addHelpText('after', '\nExamples:\n  swarmkeeper backup list prod\n  swarmkeeper backup list prod -o name | head -1')
    .action(async (name: string, opts: { output?: string }, cmd: Command) => {
      const format = parseOutputFormat(opts.output === 'name' ? 'table' : opts.output, ['table', 'yaml', 'json']);
      const backups = await withStore(cmd, async (store) => {
        const { listBackups } = await import('../../backup/backup-catalog.ts');
        const bs = await openStoreOf(await specOf(store, name));
        return (await listBackups(bs, name)).backups;
      });
      if (opts.output === 'name') process.stdout.write(backups.map((b) => `backup/${b.name}\n`).join(''));
      else if (format === 'table')
        printTable(
          ['name', 'purpose', 'age', 'size', 'etcd revision', 'services'],
          backups.map((b) => backupRow(b)),
        );
      else
        process.stdout.write(
          format === 'json'
            ? `${JSON.stringify({ kind: 'List', items: backups }, null, 2)}\n`
            : await toYaml({ kind: 'List', items: backups }),
        );
    });
  backup
    .command('create')
    .description('Take a backup now: an etcd snapshot from a healthy member and the swarm state')
    .argument('<name>', 'cluster name')
    .option('-o, --output <format>', 'yaml, json or name (default: a line of text)')
    .action(async (name: string, opts: { output?: string }, cmd: Command) => {
      const manifest = await withStore(cmd, (store) => createBackup(store, name));
      await printManifest(
        manifest,
        opts.output,
        `backup/${manifest.name} created (${sizeOf(manifest)}, etcd revision ${manifest.etcd.revision ?? '?'})\n`,
      );
    });
  backup
    .command('describe')
    .description('Show one backup and verify it: checksums of every artifact and the etcd snapshot hash')
    .argument('<backup>', 'backup name, as `backup list` shows it')
    .option('-o, --output <format>', 'yaml or json (default: text)')
    .action(async (name: string, opts: { output?: string }, cmd: Command) => {
      const cluster = clusterOfBackup(name);
      const { manifest, location, encryption } = await withStore(cmd, async (store) => {
        const [{ readBackup, ETCD_ARTIFACT }, { verifyEtcdSnapshot }] = await Promise.all([
          import('../../backup/backup-catalog.ts'),
          import('../../etcd/etcd-restore.ts'),
        ]);
        const bs = await openStoreOf(await specOf(store, cluster));
        const read = await readBackup(bs, cluster, name);
        const snap = read.artifacts.get(ETCD_ARTIFACT);
        if (!snap) throw new SwarmkeeperError('Corrupt', `backup ${name} has no ${ETCD_ARTIFACT}`);
        await verifyEtcdSnapshot(snap);
        return { manifest: read.manifest, location: bs.location, encryption: bs.encryption };
      });
      await printManifest(manifest, opts.output, describeText(manifest, location, encryption));
    });
}

async function specOf(store: EtcdClusterStore, name: string): Promise<ResolvedSpec> {
  const stored = await store.get(name);
  if (!stored) throw notFound(name);
  return resolveCluster(stored.cluster);
}

async function openStoreOf(spec: ResolvedSpec) {
  const { openBackupStore, storeSpecOf } = await import('../../backup/store-for-spec.ts');
  return openBackupStore(storeSpecOf(spec));
}

async function createBackup(store: EtcdClusterStore, name: string): Promise<BackupManifest> {
  const [{ takeBackup }, { observeLive }, { membershipFingerprint }, { providerForSpec }, { silentLogger }, { etcdFencedKv }] =
    await Promise.all([
      import('../../backup/take-backup.ts'),
      import('./plan.ts'),
      import('../../plan/backups.ts'),
      import('../../controller/providers.ts'),
      import('../../log.ts'),
      import('../../store/fenced-kv.ts'),
    ]);
  const spec = await specOf(store, name);
  const snapshot = await observeLive(store, spec);
  const provider = providerForSpec(spec, { logger: silentLogger() });
  try {
    return await takeBackup({
      spec,
      purpose: 'manual',
      membership: membershipFingerprint(snapshot),
      snapshot,
      dockerEndpoint: (i) => provider.dockerEndpoint(i),
      mgmt: etcdFencedKv(store.client),
      prefix: store.prefix,
      now: Date.now,
      logger: silentLogger(),
    });
  } finally {
    await provider.close();
  }
}

/** The cluster a backup belongs to, from its name (`<cluster>-<time>-<purpose>`). */
export function clusterOfBackup(name: string): string {
  const m = NAME_PATTERN.exec(name);
  if (!m?.[1])
    throw new SwarmkeeperError(
      'Usage',
      `${JSON.stringify(name)} is not a backup name (like prod-20261201t120000000z-scheduled): see \`swarmkeeper backup list NAME\``,
    );
  return m[1];
}

function backupRow(b: BackupManifest): string[] {
  return [
    b.name,
    b.purpose,
    formatAge(b.takenAt, Date.now()),
    sizeOf(b),
    String(b.etcd.revision ?? '-'),
    b.swarm?.error ? 'error' : String(b.swarm?.services ?? '-'),
  ];
}

function sizeOf(b: BackupManifest): string {
  const n = b.artifacts.reduce((s, a) => s + a.sizeBytes, 0);
  return n < 1024 ? `${n}B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)}KiB` : `${(n / 1024 / 1024).toFixed(1)}MiB`;
}

function describeText(m: BackupManifest, location: string, encryption: string): string {
  const lines = [
    `Name:          ${m.name}`,
    `Cluster:       ${m.cluster}`,
    `Purpose:       ${m.purpose}`,
    `Taken:         ${m.takenAt} (${formatAge(m.takenAt, Date.now())} ago, took ${(m.durationMs / 1000).toFixed(2)}s)`,
    `Store:         ${location}`,
    `Encryption:    ${encryption}`,
    `etcd:          revision ${m.etcd.revision ?? '?'} from member ${m.etcd.memberName ?? '?'} (${m.etcd.clientURL})`,
    `Swarm:         ${m.swarm?.error ? `not exported (${m.swarm.error})` : `${m.swarm?.services ?? 0} services, ${m.swarm?.networks ?? 0} networks, ${m.swarm?.configs ?? 0} configs, ${m.swarm?.secrets ?? 0} secret names`}`,
    'Artifacts:',
    ...m.artifacts.map((a) => `  ${a.name.padEnd(12)} ${String(a.sizeBytes).padStart(10)} bytes   sha256 ${a.sha256}`),
    'Verified:      every checksum matches; the etcd snapshot restores',
  ];
  return `${lines.join('\n')}\n`;
}

async function printManifest(m: BackupManifest, output: string | undefined, text: string): Promise<void> {
  if (output === 'name') process.stdout.write(`backup/${m.name}\n`);
  else if (output === undefined) process.stdout.write(text);
  else if (output === 'json') process.stdout.write(`${JSON.stringify(m, null, 2)}\n`);
  else if (output === 'yaml') process.stdout.write(await toYaml(m));
  else throw new SwarmkeeperError('Usage', `unknown output format "${output}": use one of yaml, json, name`);
}

async function toYaml(v: unknown): Promise<string> {
  const { stringify } = await import('yaml');
  return stringify(v);
}
