// One node model, two renderings: everything a booting node needs, independent of the
// user-data format. cloud-config (coreos-cloudinit, what the seeds used) and Ignition
// (Flatcar's recommended path) are both produced from the NodeFiles this module builds,
// so the two cannot disagree about what runs on a node.
import { readFileSync } from 'node:fs';
import type { NodeAgentConfig } from '../node/agent-config.ts';
import type { Role, Unit } from '../spec/schema.ts';
import { SwarmkeeperError } from '../errors.ts';

export const DEFAULT_AGENT_IMAGE = 'ghcr.io/swarmkeeper/swarmkeeper:latest';

/** The metadata script swarmkeeper-node-env.service runs. */
export const NODE_ENV_SCRIPT = '/opt/swarmkeeper/bin/node-env.sh';
/** Where the agent writes dockerd's CA, server certificate and key when TLS is on. */
export const TLS_DIR = '/etc/swarmkeeper/tls';
/** Where the agent finds its one-time token on the node (root-only file). */
export const BOOTSTRAP_TOKEN_PATH = '/etc/swarmkeeper/bootstrap-token';

export interface NodeModel {
  readonly agent: NodeAgentConfig;
  /** Extra units from spec.managers.units / spec.workers.units. */
  readonly units: readonly Unit[];
  /**
   * The controller reaches managers' docker API over mutual TLS: the agent asks for a
   * server certificate at bootstrap and docker then also listens on the private address
   * with --tlsverify. Never plain TCP.
   */
  readonly dockerTls?: boolean;
}

export interface NodeUnit {
  readonly name: string;
  readonly contents?: string;
  readonly enable: boolean;
  /** Start it right after cloud-config ran (cloud-config only; Ignition starts enabled units at boot). */
  readonly start: boolean;
  readonly mask: boolean;
  readonly dropIns: readonly { readonly name: string; readonly contents: string }[];
}

export interface NodeFile {
  readonly path: string;
  readonly contents: string;
  /** Octal permission bits, e.g. 0o600. */
  readonly mode: number;
}

export interface NodeFiles {
  readonly role: Role;
  readonly units: readonly NodeUnit[];
  readonly files: readonly NodeFile[];
}

const TEMPLATE_DIR = new URL('../../cloud-config/units/', import.meta.url);

/** Reads a unit template from cloud-config/units and fills `{{name}}` placeholders; unknown ones are an error. */
export function renderTemplate(file: string, values: Readonly<Record<string, string>>): string {
  const text = readFileSync(new URL(file, TEMPLATE_DIR), 'utf8');
  return text.replace(/\{\{([a-zA-Z]+)\}\}/g, (_m, key: string) => {
    const v = values[key];
    if (v === undefined) throw new SwarmkeeperError('Internal', `cloud-config template ${file} uses {{${key}}}, which has no value`);
    return v;
  });
}

export function buildNodeFiles(model: NodeModel): NodeFiles {
  const { agent } = model;
  checkShellSafe('cluster', agent.cluster);
  const agentImage = agent.agentImage ?? DEFAULT_AGENT_IMAGE;
  checkShellSafe('agentImage', agentImage);
  checkShellSafe('managementEtcd.prefix', agent.managementEtcd.prefix);
  for (const e of agent.managementEtcd.endpoints) checkShellSafe('managementEtcd.endpoints', e);
  if (agent.bootstrapUrl) checkShellSafe('bootstrapUrl', agent.bootstrapUrl);
  // Only managers serve the API over TLS: the controller talks to the swarm through them.
  const tls = model.dockerTls === true && agent.role === 'manager';
  const exchange = agent.bootstrapUrl && agent.bootstrapToken ? ` \\\n  --bootstrap-url ${agent.bootstrapUrl} --bootstrap-token-file ${BOOTSTRAP_TOKEN_PATH}` : '';
  const values = {
    cluster: agent.cluster,
    role: agent.role,
    agentImage,
    prefix: agent.managementEtcd.prefix,
    etcdEndpoints: agent.managementEtcd.endpoints.join(','),
    etcdRole: agent.role === 'manager' ? 'etcd voting member' : 'etcd gateway to the managers',
    exchangeFlags: exchange,
    dockerTlsScript: tls
      ? `# Mutual TLS on the private address once the agent has its certificate (never plain TCP).\nif [ -s ${TLS_DIR}/server.pem ]; then\n  tls=" -H=tcp://$ip:2376 --tlsverify --tlscacert=${TLS_DIR}/ca.pem --tlscert=${TLS_DIR}/server.pem --tlskey=${TLS_DIR}/server-key.pem"\nfi`
      : '# Docker over TLS is off: the API is the unix socket only.',
    nodeEnvScript: NODE_ENV_SCRIPT,
    dockerTlsFlags: tls ? ` --docker-tls-dir ${TLS_DIR}` : '',
  };
  const unit = (name: string, o: Partial<NodeUnit> = {}): NodeUnit => ({
    name,
    contents: renderTemplate(name, values),
    enable: true,
    start: true,
    mask: false,
    dropIns: [],
    ...o,
  });
  const units: NodeUnit[] = [
    unit('swarmkeeper-node-env.service'),
    {
      name: 'docker.service',
      enable: true,
      start: true,
      mask: false,
      dropIns: [{ name: '10-swarmkeeper.conf', contents: renderTemplate('docker-swarmkeeper.conf', values) }],
    },
    // Never a plain TCP docker API (design): Flatcar ships this socket for port 2375.
    { name: 'docker-tcp.socket', enable: false, start: false, mask: true, dropIns: [] },
    unit('swarmkeeper-bootstrap.service'),
    ...(tls ? [unit('swarmkeeper-docker-tls.path'), unit('swarmkeeper-docker-tls.service', { enable: false, start: false })] : []),
    ...model.units.map(extraUnit),
  ];
  const names = new Set<string>();
  for (const u of units) {
    if (names.has(u.name)) {
      throw new SwarmkeeperError('SpecInvalid', `unit ${u.name} is declared twice (extra units may not reuse swarmkeeper's unit names)`, {
        details: { field: `spec.${agent.role}s.units` },
      });
    }
    names.add(u.name);
  }
  const files: NodeFile[] = [{ path: NODE_ENV_SCRIPT, contents: renderTemplate('node-env.sh', values), mode: 0o755 }];
  if (agent.bootstrapToken) files.push({ path: BOOTSTRAP_TOKEN_PATH, contents: `${agent.bootstrapToken}\n`, mode: 0o600 });
  return { role: agent.role, units, files };
}

function extraUnit(u: Unit): NodeUnit {
  return {
    name: u.name,
    ...(u.content !== undefined ? { contents: u.content } : {}),
    enable: u.enable ?? u.content !== undefined,
    start: u.command === 'start' || u.command === 'restart',
    mask: false,
    dropIns: (u.dropIns ?? []).map((d) => ({ name: d.name, contents: d.content })),
  };
}

/** Values that end up inside unit command lines must not carry shell or systemd syntax. */
function checkShellSafe(what: string, value: string): void {
  if (!/^[A-Za-z0-9._:/@,\-[\]]+$/.test(value)) {
    // The value is not quoted: endpoints may carry credentials.
    throw new SwarmkeeperError('SpecInvalid', `${what} contains characters not allowed in a unit command line (letters, digits and ._:/@,-[] only)`, { details: { field: what } });
  }
}
