// The management etcd client, built from the CLI's connection options: endpoints,
// TLS files (CA, client certificate and key) and username/password. Unary calls get a
// deadline so a dead etcd turns into an Unavailable error instead of a hang; watch
// streams have none (they live as long as the watcher).
//
// Secrets: the password goes to etcd3's auth exchange only. Error messages produced
// here name files and endpoints, never the password or key material.
import { readFileSync } from 'node:fs';
import { Etcd3, type IOptions } from 'etcd3';
import { SwarmkeeperError } from '../errors.ts';

/** How to reach the management etcd (the CLI fills it from flags and environment). */
export interface EtcdConnectionOptions {
  readonly endpoints: string[];
  readonly prefix: string;
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly username?: string;
  readonly password?: string;
}

export interface EtcdClientTuning {
  /** Deadline of each unary call (get, put, txn); default 10 s. */
  readonly callTimeoutMs?: number;
}

export function createEtcdClient(opts: EtcdConnectionOptions, tuning: EtcdClientTuning = {}): Etcd3 {
  return new Etcd3(etcdClientOptions(opts, tuning));
}

/** The etcd3 options for `opts`; exported for callers that build their own client. */
export function etcdClientOptions(opts: EtcdConnectionOptions, tuning: EtcdClientTuning = {}): IOptions {
  if (opts.endpoints.length === 0) {
    throw new SwarmkeeperError('Usage', 'no etcd endpoints: set --etcd-endpoints or SWARMKEEPER_ETCD_ENDPOINTS (comma-separated URLs)');
  }
  const hosts = opts.endpoints.map(checkEndpoint);
  const secure = hosts.some((h) => h.startsWith('https://'));
  if (secure && hosts.some((h) => h.startsWith('http://'))) {
    throw new SwarmkeeperError('Usage', `etcd endpoints mix http:// and https://: ${hosts.join(',')}`);
  }
  if ((opts.certFile === undefined) !== (opts.keyFile === undefined)) {
    throw new SwarmkeeperError('Usage', 'give both --etcd-cert and --etcd-key (a client certificate needs its key), or neither');
  }
  if (opts.password !== undefined && opts.username === undefined) {
    throw new SwarmkeeperError('Usage', 'an etcd password was given without --etcd-username');
  }
  const timeout = tuning.callTimeoutMs ?? 10_000;
  const options: IOptions = {
    hosts,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: new Date(Date.now() + timeout) }),
  };
  if (secure || opts.caFile || opts.certFile) {
    if (!secure) throw new SwarmkeeperError('Usage', 'etcd TLS files were given but the endpoints are http://; use https:// endpoints');
    options.credentials = {
      rootCertificate: opts.caFile ? readTlsFile(opts.caFile, '--etcd-cacert') : readSystemCa(),
      ...(opts.certFile ? { certChain: readTlsFile(opts.certFile, '--etcd-cert') } : {}),
      ...(opts.keyFile ? { privateKey: readTlsFile(opts.keyFile, '--etcd-key') } : {}),
    };
  }
  if (opts.username !== undefined) {
    options.auth = { username: opts.username, password: opts.password ?? '' };
  }
  return options;
}

function checkEndpoint(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SwarmkeeperError('Usage', `etcd endpoint "${url}" is not a URL (want http://host:2379 or https://host:2379)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new SwarmkeeperError('Usage', `etcd endpoint "${url}" must start with http:// or https://`);
  }
  if (u.username || u.password) {
    throw new SwarmkeeperError('Usage', 'etcd endpoints must not carry credentials; use --etcd-username and SWARMKEEPER_ETCD_PASSWORD');
  }
  return `${u.protocol}//${u.host}`;
}

function readTlsFile(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new SwarmkeeperError('Usage', `cannot read ${flag} file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, {
      cause: err,
    });
  }
}

/** Without --etcd-cacert, trust the system's CA bundle (Debian's path), like etcdctl does. */
function readSystemCa(): Buffer {
  for (const f of ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt']) {
    try {
      return readFileSync(f);
    } catch {
      // next candidate
    }
  }
  throw new SwarmkeeperError('Usage', 'https:// etcd endpoints need --etcd-cacert (no system CA bundle found)');
}
