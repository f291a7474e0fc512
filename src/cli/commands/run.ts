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
import type { FastifyInstance } from 'fastify';
import { reloadTlsOnChange } from '../../http/tls.ts';
import { createLogger, type Logger } from '../../log.ts';
import { createMetrics } from '../../http/metrics.ts';
import { listenServer } from '../../http/server.ts';
import { Notifier } from '../../notify/notifier.ts';
import { attachNotifier } from '../../notify/from-progress.ts';
import { createEtcdClient } from '../../store/etcd-client.ts';
import { etcdManagement } from '../../store/management.ts';
import { wireController, type WiredController } from '../../controller/wire.ts';
import { ProviderCache } from '../../controller/provider-cache.ts';
import { providerForSpec } from '../../controller/providers.ts';
import { EtcdBootstrapTokens, bootstrapAgentConfig } from '../../store/bootstrap-tokens.ts';
import { localAgentConfig } from '../../controller/agent-config.ts';
import { clusterDockerTls, controllerUsesDockerTls, type ClusterDockerTls } from '../../controller/cluster-docker-tls.ts';
import { etcdDockerCaSecrets } from '../../store/create-once-secret.ts';
import { kubeSpecSource, type KubeSpecSource } from '../../kube/kube-source.ts';
import { attachKubeEvents } from '../../kube/kube-events.ts';
import { etcdFencedKv } from '../../store/fenced-kv.ts';
import { fenceHoldsIn } from '../../store/fenced-write.ts';
import { readRunFlags, type RunFlags, type RunOptions } from './run-flags.ts';
import { buildRunServer } from './run-http.ts';

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
  const flags = readRunFlags(opts, cmd);
  const logger = createLogger({ level: flags.logLevel });
  const client = createEtcdClient(flags.etcd);
  const metrics = createMetrics();
  const { wired, tokens, kube, dockerTls } = wireRunController(flags, { logger, client, metrics });
  const reporters = attachReporters(wired, flags, { logger, metrics, kube });
  let server: FastifyInstance | undefined;
  let stopTlsReload: (() => void) | undefined;
  const providers = new ProviderCache((spec) => providerForSpec(spec, { logger }));
  try {
    await wired.controller.start();
    if (flags.listen) {
      server = await buildRunServer(wired, {
        logger,
        metrics,
        client,
        providers,
        prefix: flags.etcd.prefix,
        ...(flags.webhookToken ? { webhookToken: flags.webhookToken } : {}),
        ...(tokens ? { tokens, dockerTls } : {}),
        ...(flags.tls ? { tls: flags.tls.loaded } : {}),
        ...(flags.trustedProxies ? { trustedProxies: flags.trustedProxies } : {}),
      });
      const url = await listenServer(server, flags.listen);
      if (flags.tls) stopTlsReload = reloadTlsOnChange(server.server, flags.tls.files, logger);
      logger.info({ url }, 'Serving health, readiness and metrics');
    }
    await waitForSignal(logger);
  } finally {
    await wired.controller.stop().catch((err: unknown) => logger.warn({ err }, 'Stopping the controller failed'));
    // After the controller: the last cycle's messages still go out (bounded grace).
    await reporters.close();
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

interface RunParts {
  readonly logger: Logger;
  readonly client: ReturnType<typeof createEtcdClient>;
  readonly metrics: ReturnType<typeof createMetrics>;
}

/** The controller over the management etcd, reading specs from it or from Kubernetes. */
function wireRunController(
  flags: RunFlags,
  { logger, client, metrics }: RunParts,
): { wired: WiredController; tokens?: EtcdBootstrapTokens; kube?: KubeSpecSource; dockerTls: ClusterDockerTls } {
  const { endpoints, prefix } = flags.etcd;
  // Shared by launches (user-data) and the bootstrap route (certificates): both follow the cluster's record.
  const dockerTls = clusterDockerTls({ secretOf: etcdDockerCaSecrets(client, prefix), controllerUsesTls: controllerUsesDockerTls() });
  // ec2 launches carry a one-time bootstrap token instead of secrets; local
  // launches keep passing the management etcd on the agent's command line.
  const tokens = flags.bootstrapUrl ? new EtcdBootstrapTokens(client, prefix) : undefined;
  const agentConfig =
    tokens && flags.bootstrapUrl
      ? bootstrapAgentConfig({
          issuer: tokens,
          bootstrapUrl: flags.bootstrapUrl,
          ...(flags.bootstrapCa ? { bootstrapCa: flags.bootstrapCa } : {}),
          managementEndpoints: endpoints,
          prefix,
          ...(flags.agentImage ? { agentImage: flags.agentImage } : {}),
          dockerTls: (cluster) => dockerTls.usesDockerTls(cluster),
          otherProviders: localAgentConfig(endpoints, prefix),
        })
      : undefined;
  const kube = flags.kubeConfig
    ? kubeSpecSource({ kc: flags.kubeConfig, mgmt: etcdFencedKv(client), fenceHolds: fenceHoldsIn(client), prefix, logger })
    : undefined;
  const wired = wireController({
    management: etcdManagement(client, prefix),
    ...(kube ? { specSource: kube } : {}),
    managementEndpoints: endpoints,
    logger,
    metrics,
    resyncMs: flags.resyncMs,
    ...(agentConfig ? { agentConfig } : {}),
    ...(flags.identity ? { identity: flags.identity } : {}),
    ...(flags.selfInstanceId ? { cycles: { selfInstanceId: flags.selfInstanceId } } : {}),
  });
  return { wired, ...(tokens ? { tokens } : {}), ...(kube ? { kube } : {}), dockerTls };
}

/**
 * What listens to the controller's progress: the notification webhook and, with
 * Kubernetes specs, Events on the SwarmCluster objects. close() detaches both and gives
 * the last messages a bounded grace.
 */
function attachReporters(
  wired: WiredController,
  flags: RunFlags,
  { logger, metrics, kube }: Omit<RunParts, 'client'> & { kube: KubeSpecSource | undefined },
): { close(): Promise<void> } {
  // The URL is a secret (Slack puts its key in the path): never logged, never in errors.
  const notifier = flags.notifyWebhookUrl
    ? new Notifier({ webhookUrl: flags.notifyWebhookUrl, logger, onOutcome: (outcome) => metrics.recordNotification(outcome) })
    : undefined;
  const detachNotifier = notifier ? attachNotifier(wired.controller, notifier) : undefined;
  if (notifier) logger.info('Sending notifications to the configured webhook');
  const detachKubeEvents = kube ? attachKubeEvents(wired.controller, kube.api, (name) => kube.store.involved(name), logger) : undefined;
  if (kube) logger.info({ server: flags.kubeConfig?.getCurrentCluster()?.server }, 'Reading SwarmCluster objects from Kubernetes');
  if (flags.selfInstanceId) logger.info({ selfInstanceId: flags.selfInstanceId }, 'Replacing the node this controller runs on last');
  return {
    close: async () => {
      detachNotifier?.();
      detachKubeEvents?.();
      await notifier?.close(5_000);
    },
  };
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
