// `swarmkeeper render-cloud-config NAME --role manager|worker [--format cloud-config|ignition]`:
// prints the user-data a node of the role would be launched with, for review. The
// one-time bootstrap token is a clearly marked placeholder: real tokens are issued per
// launch and never printed. The spec comes from the management etcd, or from -f FILE.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { SwarmkeeperError } from '../../errors.ts';
import { renderUserData, parseUserDataFormat } from '../../cloudconfig/user-data.ts';
import { DEFAULT_AGENT_IMAGE } from '../../cloudconfig/node-model.ts';
import { resolveCluster } from '../../spec/defaults.ts';
import { loadClusterText } from '../../spec/codec.ts';
import { INPUT_FILE_LIMITS } from '../../spec/text-limits.ts';
import type { Role, SwarmCluster } from '../../spec/schema.ts';
import { createEtcdClient } from '../../store/etcd-client.ts';
import { EtcdClusterStore } from '../../store/etcd-store.ts';
import { etcdOptionsOf } from '../global-options.ts';
import { readBootstrapCaFlag } from '../http-url.ts';

/** Stands where the launch-time token goes; obviously not a token (the agent refuses it). */
export const PLACEHOLDER_TOKEN = 'PLACEHOLDER-one-time-bootstrap-token-issued-per-launch';

interface RenderFlags {
  role: Role;
  format: string;
  file?: string;
  agentImage?: string;
  bootstrapUrl: string;
  bootstrapCaFile?: string;
  dockerTls?: boolean;
}

export function registerRenderCloudConfig(program: Command): void {
  program
    .command('render-cloud-config')
    .description('Print the user-data (cloud-config or Ignition) a node of the cluster would boot from, with a placeholder bootstrap token')
    .argument('<name>', 'SwarmCluster name')
    .addOption(new Option('--role <role>', 'manager or worker').choices(['manager', 'worker']).makeOptionMandatory())
    .addOption(new Option('--format <format>', 'cloud-config or ignition').choices(['cloud-config', 'ignition']).default('cloud-config'))
    .option('-f, --file <file>', 'read the spec from this file instead of the management etcd')
    .addOption(
      new Option(
        '--agent-image <image>',
        `image that carries the node agent (default: spec.provider.ec2.agentImage, else ${DEFAULT_AGENT_IMAGE})`,
      ).env('SWARMKEEPER_AGENT_IMAGE'),
    )
    .addOption(
      new Option('--bootstrap-url <url>', "the controller's bootstrap endpoint nodes call")
        .env('SWARMKEEPER_BOOTSTRAP_URL')
        .default('https://swarmkeeper-controller:8443'),
    )
    .addOption(
      new Option('--bootstrap-ca-file <file>', 'PEM CA certificates nodes trust for an https:// --bootstrap-url (a private CA)').env(
        'SWARMKEEPER_BOOTSTRAP_CA_FILE',
      ),
    )
    .option('--docker-tls', 'managers also serve docker over mutual TLS on their private address (a controller outside the cluster)')
    .action(async (name: string, flags: RenderFlags, cmd: Command) => {
      const etcd = etcdOptionsOf(cmd);
      const bootstrapCa = readBootstrapCaFlag(flags.bootstrapCaFile, flags.bootstrapUrl);
      const cluster = flags.file ? clusterFromFile(flags.file, name) : await clusterFromStore(name, cmd);
      const spec = resolveCluster(cluster);
      const rendered = renderUserData({
        agent: {
          cluster: spec.name,
          role: flags.role,
          managementEtcd: { endpoints: etcd.endpoints, prefix: etcd.prefix },
          bootstrapUrl: flags.bootstrapUrl,
          ...(bootstrapCa ? { bootstrapCa } : {}),
          bootstrapToken: PLACEHOLDER_TOKEN,
          agentImage: flags.agentImage ?? spec.provider.ec2?.agentImage ?? DEFAULT_AGENT_IMAGE,
        },
        units: flags.role === 'manager' ? spec.managers.units : spec.workers.units,
        format: parseUserDataFormat(flags.format),
        dockerTls: flags.dockerTls === true,
      });
      process.stdout.write(rendered.text);
      process.stderr.write(
        `# ${rendered.format} for a ${flags.role} of ${spec.name}: ${rendered.size.rawBytes} bytes (${rendered.size.base64Bytes} base64-encoded); EC2 allows 16384 before encoding.\n` +
          `# The bootstrap token is a placeholder (${PLACEHOLDER_TOKEN}); each launch gets its own one-time token.\n`,
      );
    });
}

function clusterFromFile(file: string, name: string): SwarmCluster {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SwarmkeeperError('Usage', `-f ${file}: cannot be read: ${(err as Error).message}`);
  }
  const cluster = loadClusterText(text, file, INPUT_FILE_LIMITS);
  if (cluster.metadata.name !== name) {
    throw new SwarmkeeperError('Usage', `-f ${file} describes cluster ${cluster.metadata.name}, not ${name}`);
  }
  return cluster;
}

async function clusterFromStore(name: string, cmd: Command): Promise<SwarmCluster> {
  const opts = etcdOptionsOf(cmd);
  const store = new EtcdClusterStore(createEtcdClient(opts), { prefix: opts.prefix });
  try {
    const stored = await store.get(name);
    if (!stored)
      throw new SwarmkeeperError(
        'NotFound',
        `cluster ${name} not found under ${opts.prefix} (create it with swarmkeeper apply -f, or render from a file with -f)`,
      );
    return stored.cluster;
  } finally {
    await store.close();
  }
}
