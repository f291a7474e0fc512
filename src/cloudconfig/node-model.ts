// One node model, two renderings: everything a booting node needs, independent of the
// user-data format. cloud-config (coreos-cloudinit, what the seeds used) and Ignition
// (Flatcar's recommended path) are both produced from the NodeFiles this module builds,
// so the two cannot disagree about what runs on a node.
import { readFileSync } from 'node:fs';
import type { NodeAgentConfig } from '../protocol/agent-config.ts';
import type { Role, Unit } from '../spec/schema.ts';
import { imageRefProblem } from '../spec/image-ref.ts';
import { SwarmkeeperError } from '../errors.ts';
import { PACKAGE_VERSION } from '../version.ts';
import { checkCaBundle } from '../net/ca-bundle.ts';

/**
 * The published image of this very version: nodes run the agent that matches the
 * controller that launched them. Users name their own registry with
 * spec.provider.ec2.agentImage or `run --agent-image`.
 */
export const DEFAULT_AGENT_IMAGE = `ghcr.io/swarmkeeper/swarmkeeper:${PACKAGE_VERSION}`;

/** How long the bootstrap unit may take to pull the image and start (a hung pull fails and is retried). */
export const AGENT_START_TIMEOUT = '5min';

/** The metadata script swarmkeeper-node-env.service runs. */
export const NODE_ENV_SCRIPT = '/opt/swarmkeeper/bin/node-env.sh';
/** Where the agent writes dockerd's CA, server certificate and key when TLS is on. */
export const TLS_DIR = '/etc/swarmkeeper/tls';
/** Where the agent finds the CA bundle it trusts for an https:// bootstrap URL (public: certificates only). */
export const BOOTSTRAP_CA_PATH = '/etc/swarmkeeper/bootstrap-ca.pem';
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

export type UnitCommand = 'start' | 'stop' | 'restart';

export interface NodeUnit {
  readonly name: string;
  readonly contents?: string;
  readonly enable: boolean;
  /**
   * What to do right after cloud-config ran (coreos-cloudinit runs it with systemctl).
   * Ignition has no commands: it starts enabled units at boot, so start and restart
   * become enabled, and stop becomes not enabled.
   */
  readonly command?: UnitCommand;
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
  const agentImage = checkCommandLineValues(agent);
  // Only managers serve the API over TLS: the controller talks to the swarm through them.
  const tls = model.dockerTls === true && agent.role === 'manager';
  const exchanges = agent.bootstrapUrl !== undefined && agent.bootstrapToken !== undefined;
  // A private CA for the bootstrap URL travels as a file beside the token; the agent
  // trusts only it for that URL.
  const caFile = exchanges && agent.bootstrapCa !== undefined;
  if (caFile && !agent.bootstrapUrl?.startsWith('https://')) {
    throw new SwarmkeeperError(
      'Usage',
      `a bootstrap CA was given for ${agent.bootstrapUrl}, which is not https://: nodes would never use it`,
    );
  }
  const values = templateValues(agent, { agentImage, tls, exchanges, caFile });
  const files: NodeFile[] = [{ path: NODE_ENV_SCRIPT, contents: renderTemplate('node-env.sh', values), mode: 0o755 }];
  if (caFile)
    files.push({ path: BOOTSTRAP_CA_PATH, contents: checkCaBundle(agent.bootstrapCa ?? '', 'the bootstrap CA bundle'), mode: 0o644 });
  if (agent.bootstrapToken) files.push({ path: BOOTSTRAP_TOKEN_PATH, contents: `${agent.bootstrapToken}\n`, mode: 0o600 });
  return { role: agent.role, units: nodeUnits(model, values, tls), files };
}

/** Checks every agent value that lands on a unit's command line; returns the agent image to run (pinned). */
function checkCommandLineValues(agent: NodeAgentConfig): string {
  checkShellSafe('cluster', agent.cluster);
  const agentImage = agent.agentImage ?? DEFAULT_AGENT_IMAGE;
  checkShellSafe('agentImage', agentImage);
  const imageProblem = imageRefProblem(agentImage);
  if (imageProblem)
    throw new SwarmkeeperError('SpecInvalid', `agentImage ${imageProblem}`, { details: { field: 'spec.provider.ec2.agentImage' } });
  checkShellSafe('managementEtcd.prefix', agent.managementEtcd.prefix);
  for (const e of agent.managementEtcd.endpoints) checkShellSafe('managementEtcd.endpoints', e);
  if (agent.bootstrapUrl) checkShellSafe('bootstrapUrl', agent.bootstrapUrl);
  return agentImage;
}

/** What fills the `{{name}}` placeholders of cloud-config/units. */
function templateValues(
  agent: NodeAgentConfig,
  o: { readonly agentImage: string; readonly tls: boolean; readonly exchanges: boolean; readonly caFile: boolean },
): Record<string, string> {
  return {
    cluster: agent.cluster,
    role: agent.role,
    agentImage: o.agentImage,
    // A node that exchanges a token gets no management etcd access at all (least privilege):
    // its endpoints come from the controller with the credential of its answer.
    managementFlags: o.exchanges
      ? ''
      : ` --etcd-endpoints ${agent.managementEtcd.endpoints.join(',')} --prefix ${agent.managementEtcd.prefix}`,
    etcdRole: agent.role === 'manager' ? 'etcd voting member' : 'etcd gateway to the managers',
    exchangeFlags: o.exchanges
      ? ` \\\n  --bootstrap-url ${agent.bootstrapUrl} --bootstrap-token-file ${BOOTSTRAP_TOKEN_PATH}${o.caFile ? ` --bootstrap-ca-file ${BOOTSTRAP_CA_PATH}` : ''}`
      : '',
    dockerTlsScript: o.tls
      ? `# Mutual TLS on the private address once the agent has its certificate (never plain TCP).\nif [ -s ${TLS_DIR}/server.pem ]; then\n  tls=" -H=tcp://$ip:2376 --tlsverify --tlscacert=${TLS_DIR}/ca.pem --tlscert=${TLS_DIR}/server.pem --tlskey=${TLS_DIR}/server-key.pem"\nfi`
      : '# Docker over TLS is off: the API is the unix socket only.',
    nodeEnvScript: NODE_ENV_SCRIPT,
    dockerTlsFlags: o.tls ? ` --docker-tls-dir ${TLS_DIR}` : '',
    startTimeout: AGENT_START_TIMEOUT,
  };
}

/** swarmkeeper's units, then the spec's extra units of the role; a name used twice is refused. */
function nodeUnits(model: NodeModel, values: Readonly<Record<string, string>>, tls: boolean): NodeUnit[] {
  const role = model.agent.role;
  const unit = (name: string, o: Partial<NodeUnit> = {}): NodeUnit => ({
    name,
    contents: renderTemplate(name, values),
    enable: true,
    command: 'start',
    mask: false,
    dropIns: [],
    ...o,
  });
  const units: NodeUnit[] = [
    unit('swarmkeeper-node-env.service'),
    {
      name: 'docker.service',
      enable: true,
      command: 'start',
      mask: false,
      dropIns: [{ name: '10-swarmkeeper.conf', contents: renderTemplate('docker-swarmkeeper.conf', values) }],
    },
    // Never a plain TCP docker API. Flatcar does not ship docker-tcp.socket: its
    // documentation tells users to create one to open the API on port 2375. Masked, no
    // such unit can be added to the node later (a customised image, a unit copied in).
    { name: 'docker-tcp.socket', enable: false, mask: true, dropIns: [] },
    unit('swarmkeeper-bootstrap.service'),
    ...(tls ? [unit('swarmkeeper-docker-tls.path'), unit('swarmkeeper-docker-tls.service', { enable: false, command: undefined })] : []),
    ...model.units.map((u, i) => extraUnit(u, `spec.${role}s.units[${i}]`)),
  ];
  const names = new Set<string>();
  for (const u of units) {
    if (names.has(u.name)) {
      throw new SwarmkeeperError('SpecInvalid', `unit ${u.name} is declared twice (extra units may not reuse swarmkeeper's unit names)`, {
        details: { field: `spec.${role}s.units` },
      });
    }
    names.add(u.name);
  }
  return units;
}

/** A unit file has an [Install] section: only then can systemd enable it. */
export function hasInstallSection(content: string): boolean {
  return /^\[Install\][ \t]*$/m.test(content);
}

/**
 * An extra unit of the spec. Enabled when asked, or by default when its content has an
 * [Install] section; `enable: true` on content without one is refused (the spec rule
 * unit-enable-needs-install says so earlier; this guards specs stored before it).
 */
function extraUnit(u: Unit, field: string): NodeUnit {
  if (u.enable === true && u.content !== undefined && !hasInstallSection(u.content)) {
    throw new SwarmkeeperError(
      'SpecInvalid',
      `${field} (${u.name}): enable: true needs an [Install] section in content (e.g. WantedBy=multi-user.target); systemd cannot enable a unit without one`,
      {
        details: { field: `${field}.enable` },
      },
    );
  }
  return {
    name: u.name,
    ...(u.content !== undefined ? { contents: u.content } : {}),
    enable: u.enable ?? (u.content !== undefined && hasInstallSection(u.content)),
    ...(u.command ? { command: u.command } : {}),
    mask: false,
    dropIns: (u.dropIns ?? []).map((d) => ({ name: d.name, contents: d.content })),
  };
}

/** Values that end up inside unit command lines must not carry shell or systemd syntax. */
function checkShellSafe(what: string, value: string): void {
  if (!/^[A-Za-z0-9._:/@,\-[\]]+$/.test(value)) {
    // The value is not quoted: endpoints may carry credentials.
    throw new SwarmkeeperError(
      'SpecInvalid',
      `${what} contains characters not allowed in a unit command line (letters, digits and ._:/@,-[] only)`,
      { details: { field: what } },
    );
  }
}
