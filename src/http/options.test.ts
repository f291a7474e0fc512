import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { addHttpOptions, httpOptionsOf } from './options.ts';

const dir = mkdtempSync(join(tmpdir(), 'sk-httpopt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function parse(args: string[], env: NodeJS.ProcessEnv = {}) {
  const cmd = addHttpOptions(new Command('run').exitOverride());
  cmd.parse(args, { from: 'user' });
  return httpOptionsOf(cmd, env);
}

describe('http options', () => {
  it('defaults to loopback and no webhook', () => {
    expect(parse([])).toEqual({ listen: { host: '127.0.0.1', port: 8080 }, alertMarkTtlSeconds: 900 });
  });

  it('reads secrets from files, trimmed', () => {
    writeFileSync(join(dir, 'token'), 'abcdefghijklmnopqrstuvwxyz012345\n');
    writeFileSync(join(dir, 'url'), 'https://hooks.example/services/T/B/secret\n');
    const o = parse(['--listen', '0.0.0.0:9000', '--alert-token-file', join(dir, 'token'), '--notify-webhook-url-file', join(dir, 'url')]);
    expect(o).toEqual({
      listen: { host: '0.0.0.0', port: 9000 },
      alertMarkTtlSeconds: 900,
      alertToken: 'abcdefghijklmnopqrstuvwxyz012345',
      notifyWebhookUrl: 'https://hooks.example/services/T/B/secret',
    });
  });

  it('takes the secrets from the environment when no file is named', () => {
    const o = parse([], { SWARMKEEPER_ALERT_TOKEN: 'x'.repeat(20), SWARMKEEPER_NOTIFY_WEBHOOK_URL: 'http://127.0.0.1:1/h' });
    expect(o.alertToken).toBe('x'.repeat(20));
    expect(o.notifyWebhookUrl).toBe('http://127.0.0.1:1/h');
  });

  it('refuses bad values with messages that name the flag and never echo secrets', () => {
    writeFileSync(join(dir, 'short'), 'tooshort');
    writeFileSync(join(dir, 'badurl'), 'ftp://secret-value');
    expect(() => parse(['--listen', 'nowhere'])).toThrow(/--listen/);
    expect(() => parse(['--alert-mark-ttl', '5'])).toThrow(/--alert-mark-ttl/);
    expect(() => parse(['--alert-token-file', join(dir, 'missing')])).toThrow(/--alert-token-file: cannot read .*ENOENT/);
    expect(() => parse(['--alert-token-file', join(dir, 'short')])).toThrow(/at least 16/);
    expect(() => parse(['--notify-webhook-url-file', join(dir, 'badurl')])).toThrow(/must be an http/);
    try {
      parse(['--notify-webhook-url-file', join(dir, 'badurl')]);
    } catch (err) {
      expect((err as Error).message).not.toContain('secret-value');
    }
  });
});
