// Command-line flags for the HTTP surface and notifications, for `swarmkeeper run` to
// add to its command (the manifests in manifests/ use exactly these). Secrets come from
// files (docker secrets, Kubernetes secret volumes) or, second best, from environment
// variables; never from a flag, which `ps` would show.
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { SwarmkeeperError } from '../errors.ts';
import { MIN_WEBHOOK_TOKEN_LENGTH } from './alerts-route.ts';
import { parseListenAddress } from './server.ts';

export interface HttpOptions {
  readonly listen: { readonly host: string; readonly port: number };
  /** Undefined: /v1/alerts is not served. */
  readonly alertToken?: string;
  readonly alertMarkTtlSeconds: number;
  /** Undefined: no notifications are sent. */
  readonly notifyWebhookUrl?: string;
}

export function addHttpOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--listen <host:port>', 'address of /healthz, /readyz, /metrics and /v1/alerts').env('SWARMKEEPER_LISTEN').default('127.0.0.1:8080'))
    .addOption(new Option('--alert-token-file <file>', 'file holding the bearer token Alertmanager must send (enables /v1/alerts)').env('SWARMKEEPER_ALERT_TOKEN_FILE'))
    .addOption(new Option('--alert-mark-ttl <seconds>', 'how long an alert mark lives without a repeat notification').env('SWARMKEEPER_ALERT_MARK_TTL').default('900'))
    .addOption(new Option('--notify-webhook-url-file <file>', 'file holding the Slack-compatible webhook URL for notifications').env('SWARMKEEPER_NOTIFY_WEBHOOK_URL_FILE'));
}

/**
 * Reads the flags of `cmd` (and the secret files they name). The environment variables
 * SWARMKEEPER_ALERT_TOKEN and SWARMKEEPER_NOTIFY_WEBHOOK_URL are used when no file is given.
 */
export function httpOptionsOf(cmd: Command, env: NodeJS.ProcessEnv = process.env): HttpOptions {
  const o = cmd.opts<{ listen: string; alertTokenFile?: string; alertMarkTtl: string; notifyWebhookUrlFile?: string }>();
  let listen: HttpOptions['listen'];
  try {
    listen = parseListenAddress(o.listen);
  } catch (err) {
    throw new SwarmkeeperError('Usage', `--listen: ${(err as Error).message}`);
  }
  const ttl = Number(o.alertMarkTtl);
  if (!Number.isInteger(ttl) || ttl < 60) throw new SwarmkeeperError('Usage', `--alert-mark-ttl: "${o.alertMarkTtl}" is not a whole number of seconds >= 60`);
  const alertToken = o.alertTokenFile ? readSecret(o.alertTokenFile, '--alert-token-file') : nonEmpty(env.SWARMKEEPER_ALERT_TOKEN);
  if (alertToken !== undefined && alertToken.length < MIN_WEBHOOK_TOKEN_LENGTH) {
    throw new SwarmkeeperError('Usage', `the alert token must be at least ${MIN_WEBHOOK_TOKEN_LENGTH} characters long (generate one with: openssl rand -hex 32)`);
  }
  const notifyWebhookUrl = o.notifyWebhookUrlFile ? readSecret(o.notifyWebhookUrlFile, '--notify-webhook-url-file') : nonEmpty(env.SWARMKEEPER_NOTIFY_WEBHOOK_URL);
  if (notifyWebhookUrl !== undefined && !/^https?:\/\/\S+$/.test(notifyWebhookUrl)) {
    // Do not echo the value: it holds a secret.
    throw new SwarmkeeperError('Usage', 'the notification webhook URL must be an http:// or https:// URL');
  }
  return { listen, alertMarkTtlSeconds: ttl, ...(alertToken ? { alertToken } : {}), ...(notifyWebhookUrl ? { notifyWebhookUrl } : {}) };
}

function readSecret(file: string, flag: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SwarmkeeperError('Usage', `${flag}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  }
  const value = text.trim();
  if (value === '') throw new SwarmkeeperError('Usage', `${flag}: ${file} is empty`);
  return value;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}
