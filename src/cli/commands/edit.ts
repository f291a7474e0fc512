// `swarmkeeper edit NAME`, the kubectl edit loop: write the object to a temp file, run
// $VISUAL or $EDITOR (default vi), validate what comes back. Invalid input re-opens the
// editor with the errors as comments at the top; saving it unchanged again aborts (the
// file is kept). An unchanged or emptied file cancels the edit. The write is guarded
// by the revision that was read, so a concurrent change makes the edit fail with a
// conflict instead of overwriting it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { SwarmkeeperError, isSwarmkeeperError, messageOf } from '../../errors.ts';
import { formatCluster, loadClusterText } from '../../spec/codec.ts';
import { INPUT_FILE_LIMITS } from '../../spec/text-limits.ts';
import { specErrorOf, type EtcdClusterStore } from '../../store/etcd-store.ts';
import { notFound, RESOURCE, RESOURCES, withStore } from '../input.ts';
import { parseOutputFormat } from '../output.ts';

const HELP = [
  "# Please edit the object below. Lines beginning with a '#' at the top will be ignored,",
  '# and an empty file will abort the edit. If an error occurs while saving this file will be',
  '# reopened with the relevant failures.',
  '#',
].join('\n');

export function registerEdit(program: Command): void {
  program
    .command('edit')
    .description('Edit a SwarmCluster in $VISUAL or $EDITOR (validated on save, re-opened on errors)')
    .argument('<name>', 'cluster name')
    .option('-o, --output <format>', 'edit as yaml or json', 'yaml')
    .addHelpText(
      'after',
      '\nEnvironment:\n  VISUAL, EDITOR   the editor to run (may include arguments); default vi\n\nExample:\n  EDITOR=nano swarmkeeper edit prod',
    )
    .action(async (name: string, opts: { output: string }, cmd: Command) => {
      const format = parseOutputFormat(opts.output, ['yaml', 'json']) as 'yaml' | 'json';
      const message = await withStore(cmd, (store) => editCluster(store, name, format));
      process.stdout.write(`${message}\n`);
    });
}

async function editCluster(store: EtcdClusterStore, name: string, format: 'yaml' | 'json'): Promise<string> {
  const raw = await store.readRaw(name);
  const stored = await store.get(name);
  if (!stored && raw.specText === undefined) throw notFound(name);
  const pending = specErrorOf(raw);
  let header = HELP;
  let body: string;
  if (pending !== undefined && raw.specText !== undefined) {
    // The spec key holds an invalid document (put by etcdctl): let the user fix that one.
    header += `\n# The spec key holds a document that is not valid${stored ? ` (generation ${stored.cluster.metadata.generation ?? 0} stays in force)` : ''}:\n${asComment(pending)}\n#`;
    body = raw.specText.endsWith('\n') ? raw.specText : `${raw.specText}\n`;
  } else if (stored) {
    body = formatCluster(stored.cluster, format);
  } else {
    throw notFound(name);
  }
  const original = body;
  const dir = mkdtempSync(join(tmpdir(), 'swarmkeeper-edit-'));
  const file = join(dir, `${name}.${format}`);
  let keep = false;
  try {
    let previous: string | undefined;
    for (;;) {
      const presented = `${header}\n${body}`;
      writeFileSync(file, presented, { mode: 0o600 });
      runEditor(file);
      const edited = readFileSync(file, 'utf8');
      const content = stripHeader(edited);
      if (content.trim() === '') return 'Edit cancelled, no changes made.';
      if (content === original) return 'Edit cancelled, no changes made.';
      if (previous !== undefined && edited === previous) {
        keep = true;
        throw new SwarmkeeperError(
          'SpecInvalid',
          `Edit cancelled, no valid changes were saved. A copy of your changes has been stored to ${file}`,
        );
      }
      try {
        const doc = loadClusterText(content, file, INPUT_FILE_LIMITS);
        if (doc.metadata.name !== name) {
          throw new SwarmkeeperError(
            'SpecInvalid',
            `${file}: metadata.name: cannot be changed by edit (was "${name}", now "${doc.metadata.name}")`,
          );
        }
        const { result } = await store.apply(doc, { expectedRevision: raw.specRevision });
        return result === 'unchanged' ? 'Edit cancelled, no changes made.' : `${RESOURCE}/${name} edited`;
      } catch (err) {
        if (!isSwarmkeeperError(err, 'SpecInvalid')) {
          keep = true;
          throw new SwarmkeeperError(
            isSwarmkeeperError(err) ? err.code : 'Unavailable',
            `${messageOf(err)}\nA copy of your changes has been stored to ${file}`,
            { cause: err },
          );
        }
        header = `${HELP}\n# ${RESOURCES} "${name}" was not valid:\n${asComment(messageOf(err))}\n#`;
        body = content;
        previous = `${header}\n${body}`;
      }
    }
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

function runEditor(file: string): void {
  const editor = process.env.VISUAL || process.env.EDITOR || 'vi';
  // Through sh, so EDITOR may carry arguments ("code --wait"), as kubectl allows.
  const r = spawnSync('sh', ['-c', `${editor} "$1"`, 'swarmkeeper-edit', file], { stdio: 'inherit' });
  if (r.error) throw new SwarmkeeperError('Unavailable', `cannot run editor "${editor}": ${r.error.message}`);
  if (r.status !== 0)
    throw new SwarmkeeperError('Unavailable', `editor "${editor}" exited with status ${String(r.status ?? r.signal)}; edit cancelled`);
}

/** Drops the leading block of '#' lines (our header); later comments stay part of the YAML. */
export function stripHeader(text: string): string {
  const lines = text.split('\n');
  let i = 0;
  while (i < lines.length && /^\s*#/.test(lines[i] ?? '')) i++;
  return lines.slice(i).join('\n');
}

function asComment(text: string): string {
  return text
    .split('\n')
    .map((l) => `# ${l}`.trimEnd())
    .join('\n');
}
