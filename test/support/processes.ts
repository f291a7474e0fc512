// Processes seen through /proc, for tests that check nothing is left running.
import { readdirSync, readFileSync } from 'node:fs';
/** Live processes whose command line names `needle`. */
export function processesNaming(needle: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
      } catch {
        return false;
      }
    })
    .map(Number);
}
