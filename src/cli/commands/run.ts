// `swarmkeeper run`: the controller process. Connects to the management etcd (global
// flags), campaigns for leadership, and while leader reconciles every SwarmCluster with
// the provider its spec names. With --http-listen it serves /healthz, /readyz, /metrics
// and, when a webhook token is set, /v1/alerts. With a notification webhook URL it posts
// Slack-compatible messages about replacements, brakes, quorum risk and invalid specs
// (never blocking the loop). SIGTERM or SIGINT stops it cleanly:
// leadership is resigned (another replica takes over at once), the cycle in progress
// ends at its next step boundary, clients close. Instances are never stopped.
// With --spec-source kubernetes the specs are SwarmCluster objects read through the
// Kubernetes API (src/kube/); everything else stays in the management etcd.
import { Option, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { SwarmkeeperError, messageOf } from '../../errors.ts';
import { readServerTls, reloadTlsOnChange, trustedProxyList, type ServerTls, type ServerTlsFiles } from '../../http/tls.ts';
import { MIN_WEBHOOK_TOKEN_LENGTH } from '../../http/alerts-route.ts';
import { createLogger, type Logger } from '../../log.ts';
import { createMetrics } from '../../http/metrics.ts';
import { buildServer, listenServer, parseListenAddress } from '../../http/server.ts';
import { createNodeDirectory } from '../../heal/node-directory.ts';
import { Notifier } from '../../notify/notifier.ts';
import { attachNotifier } from '../../notify/from-progress.ts';
import { DockerSwarm } from '../../swarm/docker-swarm.ts';
import { swarmReadiness } from '../../controller/swarm-readiness.ts';
import { createEtcdClient } from '../../store/etcd-client.ts';
import { etcdManagement } from '../../store/management.ts';
import { wireController, type WiredController } from '../../controller/wire.ts';
import { ProviderCache } from '../../controller/provider-cache.ts';
import { loadOrCreateDockerCa, providerForSpec } from '../../controller/providers.ts';
import { resolveCluster, type ResolvedSpec } from '../../spec/defaults.ts';
import { EtcdBootstrapTokens, bootstrapAgentConfig } from '../../store/bootstrap-tokens.ts';
import { bootstrapRoute, instanceFinder } from '../../http/bootstrap-route.ts';
import { EtcdManagementKv } from '../../store/management-kv.ts';
import { DOCKER_CA_SECRET, etcdCreateOnceSecret } from '../../store/create-once-secret.ts';
import { localAgentConfig } from '../../controller/agent-config.ts';
import { etcdOptionsOf } from '../global-options.ts';
import { clustersPrefix } from '../../store/keys.ts';
import { isHttpUrl, readBootstrapCaFlag } from '../http-url.ts';
import { imageRefProblem } from '../../spec/image-ref.ts';
import { loadKubeConfig } from '../../kube/kube-config.ts';
import { kubeSpecSource } from '../../kube/kube-source.ts';
import { attachKubeEvents } from '../../kube/kube-events.ts';
import { etcdFencedKv } from '../../store/fenced-kv.ts';
import { fenceHoldsIn } from '../../store/fenced-write.ts';

interface RunOptions {
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

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('Run the controller: keep every SwarmCluster (in the management etcd, or in Kubernetes) converged')
    .option('--http-listen <host:port>', 'serve /healthz, /readyz, /metrics (and /v1/alerts) here, e.g. 127.0.0.1:8080')
    .option('--identity <id>', 'name shown as the leader (default: host:pid:random)')
    .option('--resync-seconds <n>', 'full resync period of a converged cluster', '30')
    .option('--webhook-token-file <file>', 'bearer token for /v1/alerts (or SWARMKEEPER_WEBHOOK_TOKEN)')
    .addOption(
      new Option(
        '--bootstrap-url <url>',
        "where ec2 nodes reach this controller's POST /v1/bootstrap (serves it; needs --http-listen)",
      ).env('SWARMKEEPER_BOOTSTRAP_URL'),
    )
    .addOption(
      new Option(
        '--bootstrap-ca-file <file>',
        'PEM CA certificates written into ec2 user-data: the only ones nodes trust for an https:// --bootstrap-url (a private CA)',
      ).env('SWARMKEEPER_BOOTSTRAP_CA_FILE'),
    )
    .addOption(
      new Option(
        '--agent-image <image>',
        "image ec2 nodes run the agent from, pinned to a version or digest (spec.provider.ec2.agentImage wins; default: this version's published image)",
      ).env('SWARMKEEPER_AGENT_IMAGE'),
    )
    .option(
      '--notify-webhook-url-file <file>',
      'file holding the Slack-compatible webhook URL notifications are posted to (or SWARMKEEPER_NOTIFY_WEBHOOK_URL)',
    )
    .addOption(
      new Option(
        '--self-instance-id <id>',
        "instance id of the node this controller runs on, replaced last when it is one of the cluster's nodes",
      ).env('SWARMKEEPER_SELF_INSTANCE_ID'),
    )
    .addOption(
      new Option('--tls-cert-file <file>', 'serve HTTPS with this PEM certificate (chain); needs --tls-key-file').env(
        'SWARMKEEPER_TLS_CERT_FILE',
      ),
    )
    .addOption(new Option('--tls-key-file <file>', 'the PEM private key of --tls-cert-file').env('SWARMKEEPER_TLS_KEY_FILE'))
    .addOption(
      new Option(
        '--trusted-proxy <addresses>',
        'comma-separated proxy addresses or CIDR blocks whose X-Forwarded-For names the client (a TLS-terminating proxy in front of /v1/bootstrap)',
      ).env('SWARMKEEPER_TRUSTED_PROXY'),
    )
    .addOption(
      new Option('--spec-source <source>', 'where SwarmCluster specs come from: the management etcd, or SwarmCluster objects in Kubernetes')
        .choices(['etcd', 'kubernetes'])
        .default('etcd')
        .env('SWARMKEEPER_SPEC_SOURCE'),
    )
    .option(
      '--kubeconfig <file>',
      'with --spec-source kubernetes: the kubeconfig (default: KUBECONFIG, ~/.kube/config, then the in-cluster service account)',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  swarmkeeper --etcd-endpoints http://127.0.0.1:2379 run\n  swarmkeeper run --spec-source kubernetes --kubeconfig ~/.kube/config\n  swarmkeeper run --http-listen 0.0.0.0:8080',
    )
    .action(async (opts: RunOptions, cmd: Command) => {
      await runController(opts, cmd);
    });
}

async function runController(opts: RunOptions, cmd: Command): Promise<void> {
  const etcdOpts = etcdOptionsOf(cmd);
  if (etcdOpts.endpoints.length === 0)
    throw new SwarmkeeperError('Usage', '--etcd-endpoints: at least one management etcd endpoint is needed');
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
  // Empty counts as unset: the swarm stack derives it from a file that a node not booted by swarmkeeper lacks.
  const selfInstanceId = opts.selfInstanceId?.trim() || undefined;
  if (selfInstanceId !== undefined && !/^[\w.:-]+$/.test(selfInstanceId)) {
    throw new SwarmkeeperError(
      'Usage',
      `--self-instance-id ${JSON.stringify(selfInstanceId)}: expected an instance id (letters, digits, . _ : -)`,
    );
  }
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
  const level = cmd.parent?.opts<{ logLevel?: string }>().logLevel ?? 'info';
  const logger = createLogger({ level });
  const client = createEtcdClient(etcdOpts);
  const metrics = createMetrics();
  // ec2 launches carry a one-time bootstrap token instead of secrets (issue 5); local
  // launches keep passing the management etcd on the agent's command line.
  const tokens = opts.bootstrapUrl ? new EtcdBootstrapTokens(client, etcdOpts.prefix) : undefined;
  const agentConfig =
    tokens && opts.bootstrapUrl
      ? bootstrapAgentConfig({
          issuer: tokens,
          bootstrapUrl: opts.bootstrapUrl,
          ...(bootstrapCa ? { bootstrapCa } : {}),
          managementEndpoints: etcdOpts.endpoints,
          prefix: etcdOpts.prefix,
          ...(opts.agentImage ? { agentImage: opts.agentImage } : {}),
          otherProviders: localAgentConfig(etcdOpts.endpoints, etcdOpts.prefix),
        })
      : undefined;
  const kube = kubeConfig
    ? kubeSpecSource({ kc: kubeConfig, mgmt: etcdFencedKv(client), fenceHolds: fenceHoldsIn(client), prefix: etcdOpts.prefix, logger })
    : undefined;
  const wired = wireController({
    management: etcdManagement(client, etcdOpts.prefix),
    ...(kube ? { specSource: kube } : {}),
    managementEndpoints: etcdOpts.endpoints,
    logger,
    metrics,
    resyncMs: resync * 1000,
    ...(agentConfig ? { agentConfig } : {}),
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(selfInstanceId ? { selfInstanceId } : {}),
  });
  // The URL is a secret (Slack puts its key in the path): never logged, never in errors.
  const notifier = notifyWebhookUrl
    ? new Notifier({ webhookUrl: notifyWebhookUrl, logger, onOutcome: (outcome) => metrics.recordNotification(outcome) })
    : undefined;
  const detachNotifier = notifier ? attachNotifier(wired.controller, notifier) : undefined;
  if (notifier) logger.info('Sending notifications to the configured webhook');
  const detachKubeEvents = kube ? attachKubeEvents(wired.controller, kube.api, (name) => kube.store.involved(name), logger) : undefined;
  if (kube) logger.info({ server: kubeConfig?.getCurrentCluster()?.server }, 'Reading SwarmCluster objects from Kubernetes');
  if (selfInstanceId) logger.info({ selfInstanceId }, 'Replacing the node this controller runs on last');
  let server: FastifyInstance | undefined;
  let stopTlsReload: (() => void) | undefined;
  const providers = new ProviderCache((spec) => providerForSpec(spec, { logger }));
  try {
    await wired.controller.start();
    if (listen) {
      server = await startHttp(wired, {
        logger,
        metrics,
        client,
        webhookToken,
        providers,
        prefix: etcdOpts.prefix,
        ...(tokens ? { tokens } : {}),
        ...(tls ? { tls: tls.loaded } : {}),
        ...(trustedProxies ? { trustedProxies } : {}),
      });
      const url = await listenServer(server, listen);
      if (tls) stopTlsReload = reloadTlsOnChange(server.server, tls.files, logger);
      logger.info({ url }, 'Serving health, readiness and metrics');
    }
    await waitForSignal(logger);
  } finally {
    await wired.controller.stop().catch((err: unknown) => logger.warn({ err }, 'Stopping the controller failed'));
    // After the controller: the last cycle's messages still go out (bounded grace).
    detachNotifier?.();
    detachKubeEvents?.();
    await notifier?.close(5_000);
    stopTlsReload?.();
    await server?.close().catch(() => undefined);
    await providers.close();
    client.close();
    logger.info('Stopped');
    // etcd3's Campaign keeps a watch on the leader's key open after a follower resigns
    // (it has no way to cancel it), which would keep the process alive. Everything of
    // ours is closed by now: end the process once the CLI has set its exit code.
    setTimeout(() => process.exit(), 1000).unref();
  }
}

function parseListen(value: string) {
  try {
    return parseListenAddress(value);
  } catch (err) {
    throw new SwarmkeeperError('Usage', `--http-listen: ${(err as Error).message}`);
  }
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

async function startHttp(
  wired: WiredController,
  deps: {
    logger: Logger;
    metrics: ReturnType<typeof createMetrics>;
    client: ReturnType<typeof createEtcdClient>;
    webhookToken?: string;
    providers: ProviderCache;
    prefix: string;
    tokens?: EtcdBootstrapTokens;
    tls?: ServerTls;
    trustedProxies?: readonly string[];
  },
): Promise<FastifyInstance> {
  const { store } = wired;
  const listClusters = async (): Promise<ResolvedSpec[]> => (await store.list()).map((c) => resolveCluster(c.cluster));
  const specOf = async (name: string): Promise<ResolvedSpec | undefined> => {
    const stored = await store.get(name);
    return stored ? resolveCluster(stored.cluster) : undefined;
  };
  return buildServer({
    ...(deps.tokens
      ? {
          plugins: [
            {
              plugin: bootstrapRoute,
              options: {
                tokens: deps.tokens,
                findInstance: instanceFinder(specOf, (spec) => deps.providers.get(spec)),
                kvFor: (cluster: string) => EtcdManagementKv.forController(deps.client, deps.prefix, cluster),
                // Only when the controller reaches managers over TLS (dockerAccessFromEnv).
                ...(process.env.SWARMKEEPER_DOCKER_TLS_CA
                  ? {
                      dockerCa: (cluster: string) =>
                        loadOrCreateDockerCa(etcdCreateOnceSecret(deps.client, deps.prefix, cluster, DOCKER_CA_SECRET), cluster),
                    }
                  : {}),
                logger: deps.logger,
              },
            },
          ],
        }
      : {}),
    logger: deps.logger,
    metrics: deps.metrics,
    ...(deps.tls ? { tls: deps.tls } : {}),
    ...(deps.trustedProxies ? { trustedProxies: deps.trustedProxies } : {}),
    readiness: {
      // A read inside the prefix: an etcd role scoped to it may read nothing else.
      etcd: async () => {
        await deps.client.getAll().prefix(clustersPrefix(deps.prefix)).limit(1).keys();
        return true;
      },
      isLeader: () => wired.controller.isLeader(),
      // Asked on the leader only: it must reach a swarm manager of every cluster it manages.
      swarm: swarmReadiness({
        listClusters,
        providerFor: (spec) => deps.providers.get(spec),
        swarmFor: (endpoint) => new DockerSwarm(endpoint),
        logger: deps.logger,
      }),
    },
    ...(deps.webhookToken
      ? {
          alerts: {
            webhookToken: deps.webhookToken,
            marks: wired.marks,
            directory: createNodeDirectory({
              clusterExists: async (name) => (await store.get(name)) !== undefined,
              listInstances: async (name) => {
                const spec = await specOf(name);
                return spec ? deps.providers.get(spec).list(name) : [];
              },
            }),
          },
        }
      : {}),
  });
}

/** Resolves on the first SIGTERM or SIGINT; a second one exits at once. */
function waitForSignal(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'Shutting down');
      process.once('SIGTERM', () => process.exit(143));
      process.once('SIGINT', () => process.exit(130));
      resolve();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
}
