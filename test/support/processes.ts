// Processes seen through /proc, for tests that check nothing is left running.
import { readdirSync, readFileSync } from 'node:fs';

/** Live processes whose command line names `needle`, as "<pid>: <command line>" (for failure messages). */
export function processesNaming(needle: string): string[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
        return cmd.includes(needle) ? [`${pid}: ${cmd.slice(0, 300)}`] : [];
      } catch {
        return [];
      }
    });
}
