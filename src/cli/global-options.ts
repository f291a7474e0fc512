// Global flags shared by every command, each with a matching environment variable, the
// way kubectl reads KUBECONFIG. Precedence: flag, then environment, then default.
import { Command, Option } from 'commander';
import type { EtcdConnectionOptions } from '../store/etcd-client.ts';

export function addGlobalOptions(program: Command): void {
  program
    .addOption(
      new Option('--etcd-endpoints <urls>', 'management etcd endpoints, comma-separated')
        .env('SWARMKEEPER_ETCD_ENDPOINTS')
        .default('http://127.0.0.1:2379'),
    )
    .addOption(new Option('--prefix <prefix>', 'key prefix in etcd').env('SWARMKEEPER_PREFIX').default('/swarmkeeper'))
    .addOption(new Option('--etcd-cacert <file>', 'CA bundle to verify etcd servers').env('SWARMKEEPER_ETCD_CACERT'))
    .addOption(new Option('--etcd-cert <file>', 'client certificate for etcd').env('SWARMKEEPER_ETCD_CERT'))
    .addOption(new Option('--etcd-key <file>', 'client key for etcd').env('SWARMKEEPER_ETCD_KEY'))
    .addOption(new Option('--etcd-username <name>', 'etcd user').env('SWARMKEEPER_ETCD_USERNAME'))
    .addOption(new Option('--etcd-password <password>', 'etcd password (prefer the env var)').env('SWARMKEEPER_ETCD_PASSWORD'))
    .addOption(new Option('--log-level <level>', 'log level').env('SWARMKEEPER_LOG_LEVEL').default('info'));
}

/** The etcd connection settings of the program a command belongs to. */
export function etcdOptionsOf(cmd: Command): EtcdConnectionOptions {
  let root: Command = cmd;
  while (root.parent) root = root.parent;
  const o = root.opts<Record<string, string | undefined>>();
  return {
    endpoints: (o.etcdEndpoints ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    prefix: o.prefix ?? '/swarmkeeper',
    caFile: o.etcdCacert,
    certFile: o.etcdCert,
    keyFile: o.etcdKey,
    username: o.etcdUsername,
    password: o.etcdPassword,
  };
}
