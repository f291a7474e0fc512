// `swarmkeeper get [NAME] [-o yaml|json|wide]`: a table like kubectl's (NAME MANAGERS
// WORKERS PHASE AGE; counts as ready/desired), or the whole object (apiVersion, kind,
// metadata, spec, status). When the spec key holds an invalid document, the object in
// force is shown and a warning with the error goes to stderr. With -w the command
// then prints a line (or a document) each time a cluster changes, until interrupted.
import type { Command } from 'commander';
import { getCondition } from '../../spec/conditions.ts';
import { SwarmkeeperError } from '../../errors.ts';
import { specErrorOf, type EtcdClusterStore } from '../../store/etcd-store.ts';
import type { StoredCluster } from '../../store/port.ts';
import { notFound, RESOURCE, withStore } from '../input.ts';
import { formatAge, formatTable, parseOutputFormat, printObject, printObjects, printTable, type OutputFormat } from '../output.ts';
import { formatCluster } from '../../spec/codec.ts';
import { watchUntilInterrupted } from '../watch-until-interrupted.ts';

export function registerGet(program: Command): void {
  program
    .command('get')
    .description('List SwarmClusters, or show one')
    .argument('[name]', 'cluster name (all clusters when omitted)')
    .option('-o, --output <format>', 'yaml, json, wide or name (default: a table)')
    .option('-w, --watch', 'after listing, print a line (or document) for every change, until interrupted')
    .addHelpText('after', '\nExamples:\n  swarmkeeper get\n  swarmkeeper get prod -o yaml\n  swarmkeeper get -o wide\n  swarmkeeper get -w')
    .action(async (name: string | undefined, opts: { output?: string; watch?: boolean }, cmd: Command) => {
      const format = parseOutputFormat(opts.output);
      await withStore(cmd, async (store) => {
        const clusters = await readAll(store, name);
        for (const c of clusters) {
          if (c.specError)
            process.stderr.write(
              `warning: ${c.specError}\n(${c.cluster.metadata.name}: generation ${c.cluster.metadata.generation ?? 0} stays in force)\n`,
            );
        }
        const render = printList(clusters, format, name !== undefined);
        if (opts.watch === true) await watchChanges(store, name, clusters, render);
      });
    });
}

type RenderOne = (c: StoredCluster, deleted: boolean) => string;

/** Prints the list as `get` does; returns how one later change is rendered under it. */
function printList(clusters: readonly StoredCluster[], format: OutputFormat, single: boolean): RenderOne {
  if (format === 'name') {
    for (const c of clusters) process.stdout.write(`${RESOURCE}/${c.cluster.metadata.name}\n`);
    return (c) => `${RESOURCE}/${c.cluster.metadata.name}\n`;
  }
  if (format === 'yaml' || format === 'json') {
    const objs = clusters.map(toObject);
    if (single) printObject(objs[0], format);
    else printObjects(objs, format);
    // In a watch every change is one document, as kubectl prints them.
    return (c) => (format === 'yaml' ? `---\n${formatCluster(toObject(c), format)}` : formatCluster(toObject(c), format));
  }
  if (clusters.length === 0) process.stderr.write('No resources found\n');
  const wide = format === 'wide';
  const headers = ['name', 'managers', 'workers', 'phase', 'age', ...(wide ? ['provider', 'generation', 'observed', 'spec-valid'] : [])];
  const now = Date.now();
  const rows = clusters.map((c) => row(c, now, wide));
  if (clusters.length > 0) printTable(headers, rows);
  // Later lines take the columns' widths of the first table, so they stay aligned under it.
  return (c, deleted) => {
    const r = row(c, Date.now(), wide);
    if (deleted) r[3] = 'Deleted';
    const lines = formatTable(headers, [...rows, r]).split('\n');
    return `${clusters.length === 0 ? `${lines[0] ?? ''}\n` : ''}${lines[rows.length + 1] ?? ''}\n`;
  };
}

/** Prints each cluster again whenever what `get` shows of it changes; a deletion shows the last state. */
async function watchChanges(
  store: EtcdClusterStore,
  name: string | undefined,
  initial: readonly StoredCluster[],
  render: RenderOne,
): Promise<void> {
  // Compared as stored, not as rendered: the AGE column alone must not print a line.
  const last = new Map<string, { cluster: StoredCluster; text: string }>();
  for (const c of initial) last.set(c.cluster.metadata.name, { cluster: c, text: JSON.stringify(toObject(c)) });
  let headerShown = initial.length > 0;
  const show = (text: string): void => {
    // A table that started empty gets its header with the first line.
    process.stdout.write(headerShown ? text.replace(/^NAME .*\n/, '') : text);
    headerShown = true;
  };
  await watchUntilInterrupted(store, async (e) => {
    if (name !== undefined && e.name !== name) return;
    const seen = last.get(e.name);
    const now = e.type === 'delete' ? undefined : await store.get(e.name);
    if (!now) {
      if (!seen) return;
      last.delete(e.name);
      show(render(seen.cluster, true));
      return;
    }
    const text = JSON.stringify(toObject(now));
    if (seen?.text === text) return;
    last.set(e.name, { cluster: now, text });
    show(render(now, false));
  });
}

async function readAll(store: EtcdClusterStore, name: string | undefined): Promise<StoredCluster[]> {
  if (name !== undefined) return [await getOne(store, name)];
  const out: StoredCluster[] = [];
  for (const n of await store.listNames()) {
    const c = await store.get(n);
    if (c) out.push(c);
    else
      process.stderr.write(`warning: SwarmCluster "${n}" has no valid spec: ${specErrorOf(await store.readRaw(n)) ?? 'unknown error'}\n`);
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
