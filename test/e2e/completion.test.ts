// `swarmkeeper completion bash` loaded into a real bash: commands, subcommands and flags
// complete as a user's TAB would ask for them (COMP_WORDS/COMP_CWORD, then COMPREPLY).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/swarmkeeper.js', import.meta.url));
let dir: string;
let script: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sk-completion-'));
  script = join(dir, 'swarmkeeper.bash');
  writeFileSync(script, execFileSync(process.execPath, [BIN, 'completion', 'bash'], { encoding: 'utf8' }));
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What bash offers for the words typed so far (the last one being completed). */
function complete(...words: string[]): string[] {
  const array = ['swarmkeeper', ...words].map((w) => `'${w}'`).join(' ');
  const out = execFileSync(
    'bash',
    ['-c', `source '${script}'; COMP_WORDS=(${array}); COMP_CWORD=${words.length}; _swarmkeeper; printf '%s\\n' "\${COMPREPLY[@]}"`],
    { encoding: 'utf8' },
  );
  return out.split('\n').filter(Boolean).sort();
}

describe('completion bash', () => {
  it('completes commands, subcommands and flags', () => {
    expect(complete('de')).toEqual(['delete', 'demo']);
    expect(complete('wa')).toEqual(['wait']);
    expect(complete('node', '')).toEqual(expect.arrayContaining(['bootstrap', 'cordon', 'drain', 'replace', 'uncordon']));
    expect(complete('delete', 'prod', '--c')).toEqual(['--cascade']);
    expect(complete('wait', 'prod', '--t')).toEqual(['--timeout']);
  });

  it('has a zsh form and refuses other shells', () => {
    expect(execFileSync(process.execPath, [BIN, 'completion', 'zsh'], { encoding: 'utf8' })).toMatch(
      /^#compdef swarmkeeper\n.*bashcompinit/,
    );
    expect(() => execFileSync(process.execPath, [BIN, 'completion', 'fish'], { stdio: 'pipe' })).toThrow();
  });
});
