// The flags of `swarmkeeper run`, checked before anything connects: every mistake is a
// Usage error naming the flag (or environment variable), and secret values (the webhook
// token, the notification URL) never appear in a message.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import { SwarmkeeperError, messageOf } from '../../errors.ts';
import { readServerTls, trustedProxyList, type ServerTls, type ServerTlsFiles } from '../../http/tls.ts';
import { MIN_WEBHOOK_TOKEN_LENGTH } from '../../http/alerts-route.ts';
import { parseListenAddress } from '../../http/server.ts';
import { imageRefProblem } from '../../spec/image-ref.ts';
import { loadKubeConfig } from '../../kube/kube-config.ts';
import type { EtcdConnectionOptions } from '../../store/etcd-client.ts';
import { etcdOptionsOf } from '../global-options.ts';
import { isHttpUrl, readBootstrapCaFlag } from '../http-url.ts';

/** The flags as commander hands them over. */
export interface RunOptions {
  httpListen?: string;
  bootstrapUrl?: string;
  bootstrapCaFile?: string;
  agentImage?: string;
  identity?: string;
  resyncSeconds: string;
  webhookTokenFile?: string;
  notifyWebhookUrlFile?: string;
  selfInstanceId?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  trustedProxy?: string;
  specSource: string;
  kubeconfig?: string;
}

/** The flags once checked, with the files they name read. */
export interface RunFlags {
  readonly etcd: EtcdConnectionOptions;
  readonly logLevel: string;
  readonly resyncMs: number;
  readonly listen?: ReturnType<typeof parseListenAddress>;
  readonly webhookToken?: string;
  readonly tls?: { loaded: ServerTls; files: ServerTlsFiles };
  readonly trustedProxies?: string[];
  readonly notifyWebhookUrl?: string;
  readonly selfInstanceId?: string;
  readonly identity?: string;
  readonly bootstrapUrl?: string;
  readonly bootstrapCa?: string;
  readonly agentImage?: string;
  /** Set with --spec-source kubernetes. */
  readonly kubeConfig?: KubeConfig;
}

export function readRunFlags(opts: RunOptions, cmd: Command): RunFlags {
  const etcd = etcdOptionsOf(cmd);
  if (etcd.endpoints.length === 0) throw new SwarmkeeperError('Usage', '--etcd-endpoints: at least one management etcd endpoint is needed');
  const resync = Number(opts.resyncSeconds);
  if (!Number.isFinite(resync) || resync < 1)
    throw new SwarmkeeperError('Usage', `--resync-seconds ${opts.resyncSeconds}: expected a number of seconds >= 1`);
  const listen = opts.httpListen === undefined ? undefined : parseListen(opts.httpListen);
  const webhookToken = readWebhookToken(opts.webhookTokenFile);
  const tls = readTls(opts);
  const trustedProxies = opts.trustedProxy === undefined ? undefined : parseTrustedProxies(opts.trustedProxy);
  if ((tls || trustedProxies) && !listen)
    throw new SwarmkeeperError('Usage', '--tls-cert-file and --trusted-proxy configure the HTTP server: --http-listen is needed too');
  const notifyWebhookUrl = readNotifyWebhookUrl(opts.notifyWebhookUrlFile);
  const selfInstanceId = readSelfInstanceId(opts.selfInstanceId);
  if (opts.bootstrapUrl !== undefined && !listen)
    throw new SwarmkeeperError('Usage', '--bootstrap-url: nodes exchange their tokens over HTTP, so --http-listen is needed too');
  if (opts.bootstrapUrl !== undefined && !isHttpUrl(opts.bootstrapUrl))
    throw new SwarmkeeperError('Usage', `--bootstrap-url ${opts.bootstrapUrl}: expected an http(s):// URL`);
  const bootstrapCa = readBootstrapCaFlag(opts.bootstrapCaFile, opts.bootstrapUrl);
  const imageProblem = opts.agentImage === undefined ? undefined : imageRefProblem(opts.agentImage);
  if (imageProblem) throw new SwarmkeeperError('Usage', `--agent-image ${imageProblem}`);
  if (opts.specSource !== 'kubernetes' && opts.kubeconfig !== undefined)
    throw new SwarmkeeperError('Usage', '--kubeconfig: only with --spec-source kubernetes');
  const kubeConfig = opts.specSource === 'kubernetes' ? loadKubeConfig(opts.kubeconfig) : undefined;
  return {
    etcd,
    logLevel: cmd.parent?.opts<{ logLevel?: string }>().logLevel ?? 'info',
    resyncMs: resync * 1000,
    ...(listen ? { listen } : {}),
    ...(webhookToken ? { webhookToken } : {}),
    ...(tls ? { tls } : {}),
    ...(trustedProxies ? { trustedProxies } : {}),
    ...(notifyWebhookUrl ? { notifyWebhookUrl } : {}),
    ...(selfInstanceId ? { selfInstanceId } : {}),
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(opts.bootstrapUrl ? { bootstrapUrl: opts.bootstrapUrl } : {}),
    ...(bootstrapCa ? { bootstrapCa } : {}),
    ...(opts.agentImage ? { agentImage: opts.agentImage } : {}),
    ...(kubeConfig ? { kubeConfig } : {}),
  };
}

function parseListen(value: string) {
  try {
    return parseListenAddress(value);
  } catch (err) {
    throw new SwarmkeeperError('Usage', `--http-listen: ${(err as Error).message}`);
  }
}

/** Empty counts as unset: the swarm stack derives it from a file that a node not booted by swarmkeeper lacks. */
function readSelfInstanceId(value: string | undefined): string | undefined {
  const id = value?.trim() || undefined;
  if (id !== undefined && !/^[\w.:-]+$/.test(id)) {
    throw new SwarmkeeperError('Usage', `--self-instance-id ${JSON.stringify(id)}: expected an instance id (letters, digits, . _ : -)`);
  }
  return id;
}

function readNotifyWebhookUrl(file: string | undefined): string | undefined {
  const where = file === undefined ? 'SWARMKEEPER_NOTIFY_WEBHOOK_URL' : `--notify-webhook-url-file ${file}`;
  let url: string | undefined;
  if (file === undefined) {
    url = process.env.SWARMKEEPER_NOTIFY_WEBHOOK_URL?.trim() || undefined;
  } else {
    try {
      url = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new SwarmkeeperError('Usage', `${where}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`, { cause: err });
    }
    if (url === '') throw new SwarmkeeperError('Usage', `${where}: the file is empty`);
  }
  // The message never repeats the value: it may carry the webhook's secret.
  if (url !== undefined && !isHttpUrl(url)) throw new SwarmkeeperError('Usage', `${where}: expected an http:// or https:// URL`);
  return url;
}

/**
 * The alert webhook's bearer token. A file that is blank or too short is refused at
 * start: served without a token, /v1/alerts would answer 404, which Alertmanager drops
 * without retrying, and the alerts would be lost in silence.
 */
function readWebhookToken(file: string | undefined): string | undefined {
  const where = file === undefined ? 'SWARMKEEPER_WEBHOOK_TOKEN' : `--webhook-token-file ${file}`;
  let token: string;
  if (file === undefined) {
    const env = process.env.SWARMKEEPER_WEBHOOK_TOKEN;
    if (env === undefined || env === '') return undefined;
    token = env.trim();
  } else {
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new SwarmkeeperError('Usage', `${where}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`, { cause: err });
    }
  }
  if (token === '') throw new SwarmkeeperError('Usage', `${where}: the token is blank`);
  if (token.length < MIN_WEBHOOK_TOKEN_LENGTH)
    throw new SwarmkeeperError(
      'Usage',
      `${where}: the token must be at least ${MIN_WEBHOOK_TOKEN_LENGTH} characters long (openssl rand -hex 32)`,
    );
  return token;
}

function readTls(opts: RunOptions): { loaded: ServerTls; files: ServerTlsFiles } | undefined {
  if (opts.tlsCertFile === undefined && opts.tlsKeyFile === undefined) return undefined;
  if (opts.tlsCertFile === undefined || opts.tlsKeyFile === undefined) {
    throw new SwarmkeeperError(
      'Usage',
      'give both --tls-cert-file and --tls-key-file (or SWARMKEEPER_TLS_CERT_FILE and SWARMKEEPER_TLS_KEY_FILE), or neither',
    );
  }
  const files = { certFile: opts.tlsCertFile, keyFile: opts.tlsKeyFile };
  try {
    return { loaded: readServerTls(files), files };
  } catch (err) {
    throw new SwarmkeeperError('Usage', `--tls-cert-file/--tls-key-file: ${messageOf(err)}`, { cause: err });
  }
}

function parseTrustedProxies(value: string): string[] {
  try {
    return trustedProxyList(value);
  } catch (err) {
    throw new SwarmkeeperError('Usage', `--trusted-proxy: ${messageOf(err)}`, { cause: err });
  }
}
