import { describe, expect, it } from 'vitest';
import { formatAge, formatTable, parseOutputFormat } from './output.ts';

describe('output', () => {
  it('pads columns like kubectl', () => {
    expect(
      formatTable(
        ['name', 'phase'],
        [
          ['prod', 'Ready'],
          ['staging-long', 'Pending'],
        ],
      ),
    ).toBe('NAME           PHASE\nprod           Ready\nstaging-long   Pending\n');
  });

  it('formats ages in the largest unit', () => {
    const now = Date.parse('2026-01-10T00:00:00Z');
    expect(formatAge('2026-01-09T23:59:15Z', now)).toBe('45s');
    expect(formatAge('2026-01-09T23:00:00Z', now)).toBe('60m');
    expect(formatAge('2026-01-09T00:00:00Z', now)).toBe('24h');
    expect(formatAge('2026-01-01T00:00:00Z', now)).toBe('9d');
    expect(formatAge(undefined, now)).toBe('<unknown>');
  });

  it('refuses unknown output formats as a usage error', () => {
    expect(parseOutputFormat('wide')).toBe('wide');
    expect(() => parseOutputFormat('xml')).toThrow(/unknown output format "xml": use one of wide, yaml, json, name/);
    expect(() => parseOutputFormat('wide', ['table', 'yaml'])).toThrow(/use one of yaml/);
  });
});
