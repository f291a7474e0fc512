// Which instances each launch client token created, kept after the instances are gone:
// EC2 answers a repeated token with the first launch's instances even when they were
// terminated, and the planner relies on a repeat never launching twice (rule 13).
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { stateDir } from './instance-records.ts';

function ledgerPath(baseDir: string, cluster: string, token: string): string {
  return join(stateDir(baseDir, cluster), 'tokens', encodeURIComponent(token));
}

export function readTokenLedger(baseDir: string, cluster: string, token: string): string[] | undefined {
  try {
    const v = JSON.parse(readFileSync(ledgerPath(baseDir, cluster, token), 'utf8')) as { ids?: unknown };
    return Array.isArray(v.ids) ? v.ids.filter((x): x is string => typeof x === 'string') : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export function writeTokenLedger(baseDir: string, cluster: string, token: string, ids: readonly string[]): void {
  const file = ledgerPath(baseDir, cluster, token);
  mkdirSync(join(stateDir(baseDir, cluster), 'tokens'), { recursive: true });
  writeFileAtomic.sync(file, JSON.stringify({ ids, at: new Date().toISOString() }), { fsync: true });
}
