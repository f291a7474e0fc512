// The docs are checked against the code, so neither drifts: every safety rule id the
// planner can cite has its section in docs/safety-rules.md, every error code its
// section in docs/errors.md, every metric the controller registers its row in
// docs/operations.md (and nothing is documented that does not exist), and every source
// or test path a doc names is still there.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');

function headings(markdown: string): string[] {
  return [...markdown.matchAll(/^## (\S+)\s*$/gm)].map((m) => m[1] as string);
}

function docFiles(): string[] {
  const top = readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`);
  const runbooks = readdirSync(join(ROOT, 'docs/runbooks'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/runbooks/${f}`);
  return [...top, ...runbooks, 'README.md'];
}

describe('docs match the code', () => {
  it('every rule id in the RuleId type has a section in docs/safety-rules.md, and only those', () => {
    const steps = read('src/plan/steps.ts');
    const union = steps.slice(steps.indexOf('export type RuleId'));
    const ids = [...union.slice(0, union.indexOf(';')).matchAll(/'(R\d+-[a-z-]+)'/g)].map((m) => m[1]);
    expect(ids.length).toBeGreaterThanOrEqual(14);
    expect(headings(read('docs/safety-rules.md')).sort()).toEqual([...ids].sort());
  });

  it('every error code has a section in docs/errors.md, and only those', () => {
    expect(headings(read('docs/errors.md')).sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('every registered metric has a row in docs/operations.md, and every row a metric', () => {
    const registered = [...(read('src/http/metrics.ts') + read('src/http/backup-metrics.ts')).matchAll(/'(swarmkeeper_[a-z_]+)'/g)].map(
      (m) => m[1] as string,
    );
    const documented = [...read('docs/operations.md').matchAll(/^\|([^|]+)\|/gm)].flatMap((m) =>
      [...(m[1] as string).matchAll(/`(swarmkeeper_[a-z_]+)`/g)].map((n) => n[1] as string),
    );
    expect(registered.length).toBeGreaterThan(5);
    expect([...new Set(documented)].sort()).toEqual([...new Set(registered)].sort());
  });

  it('every src/ or test/ path named in the docs exists', () => {
    const missing: string[] = [];
    for (const doc of docFiles()) {
      for (const m of read(doc).matchAll(/`((?:src|test|bench|scripts|manifests|crds)\/[^`\s*{}]+)`/g)) {
        const path = (m[1] as string).replace(/[:#].*$/, '');
        if (!existsSync(join(ROOT, path))) missing.push(`${doc}: ${path}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
