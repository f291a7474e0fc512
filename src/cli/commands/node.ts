// `swarmkeeper node bootstrap`: the node agent a node runs at boot (a systemd unit on
// Flatcar, a detached process for the local provider). Management etcd flags come from
// the global options; everything else says who this node is.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { EtcdMembership } from '../../etcd/etcd-membership.ts';
import { SwarmkeeperError } from '../../errors.ts';
import type { EtcdMember } from '../../model/snapshot.ts';
import { createEtcdClient } from '../../store/etcd-client.ts';
import { createLogger, type Logger } from '../../log.ts';
import type { NodeAgentConfig } from '../../protocol/agent-config.ts';
import { exchangeBootstrapToken, reportInitialized } from '../../node/bootstrap-client.ts';
import type { JoinResponse } from '../../protocol/bootstrap-exchange.ts';
import { sourceBoundFetch } from '../../node/source-bound-fetch.ts';
import { readCaBundle } from '../../net/ca-bundle.ts';
import { DOCKER_RESTART_WAIT_MS, ExchangeKv } from '../../node/exchange-kv.ts';
import { ControllerEndpoints, type EndpointsSource } from '../../node/controller-endpoints.ts';
import { EtcdManagementKv } from '../../store/management-kv.ts';
import { runNodeAgent, type NodeIdentity } from '../../node/node-agent.ts';
import { DockerSwarm } from '../../swarm/docker-swarm.ts';
import { etcdOptionsOf } from '../global-options.ts';
import { checkBootstrapCaFlag, isHttpUrl } from '../http-url.ts';
import { registerNodeVerbs } from './node-verbs.ts';

export interface BootstrapFlags {
  role: string;
  cluster: string;
  instanceId: string;
  address: string;
  dockerHost: string;
  dataDir: string;
  bootstrapUrl?: string;
  bootstrapTokenFile?: string;
  bootstrapCaFile?: string;
  dockerTlsDir?: string;
}

export function registerNode(program: Command): void {
  const node = program
    .command('node')
    .description('Operator requests for one node (cordon, drain, uncordon, replace), and the agent a node runs (bootstrap)');
  registerNodeVerbs(node);
  node
    .command('bootstrap')
    .description('Join this node to its cluster (etcd and swarm) and keep its etcd member or gateway running')
    .addOption(new Option('--role <role>', 'manager or worker').choices(['manager', 'worker']).makeOptionMandatory())
    .requiredOption('--cluster <name>', 'SwarmCluster name')
    .requiredOption('--instance-id <id>', "this node's instance id (its engine label swarmkeeper.instance)")
    .requiredOption('--address <ip>', "this node's private address (etcd and swarm listen and advertise on it)")
    .requiredOption('--docker-host <url>', "this node's dockerd, unix:///path/to/docker.sock")
    .requiredOption('--data-dir <dir>', 'where the agent keeps etcd data, pid files and logs')
    .option('--bootstrap-url <url>', 'ec2: the controller URL to exchange the one-time bootstrap token at')
    .option('--bootstrap-token-file <file>', 'ec2: file holding the one-time bootstrap token')
    .option('--bootstrap-ca-file <file>', 'ec2: PEM CA certificates, the only ones trusted for an https:// --bootstrap-url (a private CA)')
    .option('--docker-tls-dir <dir>', "ec2 managers: send a certificate request with the exchange and keep dockerd's TLS files here")
    .action(async (flags: BootstrapFlags, cmd: Command) => {
      const etcd = etcdOptionsOf(cmd);
      const { config, identity, socketPath } = parseBootstrapFlags(flags, etcd.endpoints, etcd.prefix);
      const root = program.opts<{ logLevel?: string }>();
      const logger = createLogger({ level: root.logLevel ?? 'info', pretty: false });
      // ec2 (token exchange): no management etcd access at all; local: the etcd given.
      const kv = config.bootstrapUrl
        ? await exchangeKvOf(flags, config, identity, undefined, logger)
        : new EtcdManagementKv(createEtcdClient(etcd), etcd.prefix, config.cluster);
      const swarm = new DockerSwarm({ socketPath });
      const abort = new AbortController();
      const stop = (): void => abort.abort();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      try {
        const exit = await runNodeAgent(config, identity, {
          kv,
          swarm,
          listClusterMembers: listMembersVia,
          logger,
          signal: abort.signal,
          ...(kv instanceof ExchangeKv ? { awaitsDockerRestart: () => kv.awaitsDockerRestart() } : {}),
        });
        if (exit === 'node-dead') process.exitCode = 1;
      } finally {
        process.removeListener('SIGTERM', stop);
        process.removeListener('SIGINT', stop);
        await swarm.close().catch(() => undefined);
        await kv.close();
      }
    });
}

/** Validates the flags; errors name the flag. Exported for tests. */
export function parseBootstrapFlags(
  flags: BootstrapFlags,
  endpoints: readonly string[],
  prefix: string,
): { config: NodeAgentConfig; identity: NodeIdentity; socketPath: string } {
  if (flags.role !== 'manager' && flags.role !== 'worker') throw usage(`--role must be manager or worker, not ${flags.role}`);
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(flags.cluster)) throw usage(`--cluster ${flags.cluster} is not a valid cluster name`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(flags.instanceId))
    throw usage(`--instance-id ${flags.instanceId} is not a valid instance id`);
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(flags.address)) throw usage(`--address ${flags.address} is not an IPv4 address`);
  const m = /^unix:\/\/(\/.+)$/.exec(flags.dockerHost);
  if (!m?.[1]) throw usage(`--docker-host ${flags.dockerHost} must be unix:///path/to/docker.sock`);
  if (!flags.dataDir.startsWith('/')) throw usage(`--data-dir ${flags.dataDir} must be an absolute path`);
  if (endpoints.length === 0 && flags.bootstrapUrl === undefined)
    throw usage('--etcd-endpoints: the agent needs the management etcd (or --bootstrap-url and --bootstrap-token-file)');
  if ((flags.bootstrapUrl === undefined) !== (flags.bootstrapTokenFile === undefined)) {
    throw usage('give both --bootstrap-url and --bootstrap-token-file (the token exchange needs both), or neither');
  }
  if (flags.bootstrapUrl !== undefined && !isHttpUrl(flags.bootstrapUrl))
    throw usage(`--bootstrap-url ${flags.bootstrapUrl} is not an http(s) URL`);
  checkBootstrapCaFlag(flags.bootstrapCaFile, flags.bootstrapUrl);
  if (flags.dockerTlsDir !== undefined && flags.bootstrapUrl === undefined)
    throw usage('--docker-tls-dir needs --bootstrap-url: the certificate comes with the token exchange');
  return {
    config: {
      cluster: flags.cluster,
      role: flags.role,
      managementEtcd: { endpoints: [...endpoints], prefix },
      ...(flags.bootstrapUrl ? { bootstrapUrl: flags.bootstrapUrl } : {}),
    },
    identity: { instanceId: flags.instanceId, address: flags.address, dataDir: flags.dataDir },
    socketPath: m[1],
  };
}

/**
 * The ec2 join source: the bootstrap token exchange at the controller, and the published
 * endpoints from the controller with the answer's node credential (or from `endpoints`,
 * for tests). Exported for tests.
 */
export async function exchangeKvOf(
  flags: BootstrapFlags,
  config: NodeAgentConfig,
  node: NodeIdentity,
  endpoints?: EndpointsSource,
  logger?: Logger,
): Promise<ExchangeKv> {
  const url = config.bootstrapUrl as string;
  const tokenFile = flags.bootstrapTokenFile as string;
  const answerFile = join(node.dataDir, 'bootstrap-answer.json');
  let token: string;
  try {
    token = readFileSync(tokenFile, 'utf8').trim();
  } catch (err) {
    // Spent tokens are deleted once their answer is saved: a restarted agent needs none.
    if (!existsSync(answerFile))
      throw new SwarmkeeperError('Usage', `--bootstrap-token-file ${tokenFile}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`, {
        cause: err,
      });
    token = '';
  }
  const tlsDir = flags.dockerTlsDir;
  // Loaded only here: the x509 library is not needed by nodes without docker TLS.
  const tls = tlsDir ? await import('../../node/docker-tls.ts') : undefined;
  const dockerCsr = tls && tlsDir && config.role === 'manager' ? await tls.ensureDockerCsr(tlsDir, node.address) : undefined;
  const who = { cluster: config.cluster, token, instanceId: node.instanceId };
  const ca = flags.bootstrapCaFile === undefined ? undefined : readCaBundle(flags.bootstrapCaFile, '--bootstrap-ca-file');
  // The controller accepts the token only from the instance's private address.
  const fromNode = sourceBoundFetch(node.address, ca ? { ca, caSource: flags.bootstrapCaFile } : {});
  const fromController = (a: JoinResponse): EndpointsSource =>
    new ControllerEndpoints({
      bootstrapUrl: url,
      cluster: config.cluster,
      instanceId: node.instanceId,
      credential: a.nodeCredential ?? '',
      fetchImpl: fromNode,
    });
  return new ExchangeKv({
    instanceId: node.instanceId,
    address: node.address,
    endpoints: endpoints ?? fromController,
    answerFile,
    // Used up: nothing on the node should keep it (see ExchangeKvOptions.onSpent).
    onSpent: () => rmSync(tokenFile, { force: true }),
    client: {
      exchange: () => exchangeBootstrapToken(url, { ...who, ...(dockerCsr ? { dockerCsr } : {}) }, fromNode),
      reportInitialized: (swarmTokens) => reportInitialized(url, { ...who, address: node.address, swarmTokens }, fromNode),
    },
    ...(tls && tlsDir ? { onAnswer: (a: JoinResponse) => (a.dockerTls ? tls.writeDockerTls(tlsDir, a.dockerTls) : false) } : {}),
    onDockerRestartOverdue: () =>
      logger?.warn(
        { waitedMs: DOCKER_RESTART_WAIT_MS },
        'dockerd did not restart for the docker TLS certificate just written (swarmkeeper-docker-tls.path); carrying on without it',
      ),
  });
}

function usage(message: string): SwarmkeeperError {
  return new SwarmkeeperError('Usage', message);
}

/** The cluster etcd's member list through any of `clientUrls` (a later manager waiting for its learner entry). */
export async function listMembersVia(clientUrls: readonly string[]): Promise<EtcdMember[]> {
  const membership = new EtcdMembership({ endpoints: clientUrls, callTimeoutMs: 3_000 });
  try {
    return await membership.listMembers();
  } finally {
    await membership.close();
  }
}
