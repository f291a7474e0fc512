// `swarmkeeper get [NAME] [-o yaml|json|wide]`: a table like kubectl's (NAME MANAGERS
// WORKERS PHASE AGE; counts as ready/desired), or the whole object (apiVersion, kind,
// metadata, spec, status). When the spec key holds an invalid document, the object in
// force is shown and a warning with the error goes to stderr.
import type { Command } from 'commander';
import { getCondition } from '../../spec/conditions.ts';
import { SwarmkeeperError } from '../../errors.ts';
import { specErrorOf, type EtcdClusterStore } from '../../store/etcd-store.ts';
import type { StoredCluster } from '../../store/port.ts';
import { notFound, RESOURCE, withStore } from '../input.ts';
import { formatAge, parseOutputFormat, printObject, printObjects, printTable } from '../output.ts';

export function registerGet(program: Command): void {
  program
    .command('get')
    .description('List SwarmClusters, or show one')
    .argument('[name]', 'cluster name (all clusters when omitted)')
    .option('-o, --output <format>', 'yaml, json, wide or name (default: a table)')
    .addHelpText('after', '\nExamples:\n  swarmkeeper get\n  swarmkeeper get prod -o yaml\n  swarmkeeper get -o wide')
    .action(async (name: string | undefined, opts: { output?: string }, cmd: Command) => {
      const format = parseOutputFormat(opts.output);
      const clusters = await withStore(cmd, (store) => readAll(store, name));
      for (const c of clusters) {
        if (c.specError) process.stderr.write(`warning: ${c.specError}\n(${c.cluster.metadata.name}: generation ${c.cluster.metadata.generation ?? 0} stays in force)\n`);
      }
      if (format === 'name') {
        for (const c of clusters) process.stdout.write(`${RESOURCE}/${c.cluster.metadata.name}\n`);
        return;
      }
      if (format === 'yaml' || format === 'json') {
        const objs = clusters.map(toObject);
        if (name !== undefined) printObject(objs[0], format);
        else printObjects(objs, format);
        return;
      }
      if (clusters.length === 0) {
        process.stderr.write('No resources found\n');
        return;
      }
      const now = Date.now();
      const wide = format === 'wide';
      const headers = ['name', 'managers', 'workers', 'phase', 'age', ...(wide ? ['provider', 'generation', 'observed', 'spec-valid'] : [])];
      printTable(headers, clusters.map((c) => row(c, now, wide)));
    });
}

async function readAll(store: EtcdClusterStore, name: string | undefined): Promise<StoredCluster[]> {
  if (name !== undefined) return [await getOne(store, name)];
  const out: StoredCluster[] = [];
  for (const n of await store.listNames()) {
    const c = await store.get(n);
    if (c) out.push(c);
    else process.stderr.write(`warning: SwarmCluster "${n}" has no valid spec: ${specErrorOf(await store.readRaw(n)) ?? 'unknown error'}\n`);
  }
  return out;
}

async function getOne(store: EtcdClusterStore, name: string): Promise<StoredCluster> {
  const c = await store.get(name);
  if (c) return c;
  const raw = await store.readRaw(name);
  if (raw.specText !== undefined) {
    throw new SwarmkeeperError('SpecInvalid', `SwarmCluster "${name}" has no valid spec: ${specErrorOf(raw) ?? 'unknown error'}`);
  }
  throw notFound(name);
}

/** The whole object as kubectl prints it: apiVersion, kind, metadata, spec, status. */
export function toObject(c: StoredCluster): Record<string, unknown> {
  return { ...c.cluster, ...(c.status ? { status: c.status } : {}) };
}

function row(c: StoredCluster, now: number, wide: boolean): string[] {
  const spec = c.cluster.spec;
  const s = c.status;
  const cells = [
    c.cluster.metadata.name,
    `${s?.managers?.ready ?? 0}/${spec.managers.count}`,
    `${s?.workers?.ready ?? 0}/${spec.workers.count}`,
    s?.phase ?? (spec.paused ? 'Paused' : 'Pending'),
    formatAge(c.cluster.metadata.creationTimestamp, now),
  ];
  if (!wide) return cells;
  const specValid = c.specError ? 'False' : (getCondition(s?.conditions, 'SpecValid')?.status ?? 'True');
  return [
    ...cells,
    Object.keys(spec.provider)[0] ?? '-',
    String(c.cluster.metadata.generation ?? 0),
    s?.observedGeneration === undefined ? '-' : String(s.observedGeneration),
    specValid,
  ];
}
