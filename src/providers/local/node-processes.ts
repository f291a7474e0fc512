// Starting and stopping one local instance's processes: its dockerd (through
// startDockerd, detached so it outlives the controller), its node agent (a detached
// `swarmkeeper node bootstrap`, whose etcd member or gateway runs in the agent's process
// group) and, on terminate, all of them by pid file. Pids are only signalled after
// /proc confirms they are still the process we started (pids get reused).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopEtcdByPidFile } from '../../etcd/etcd-process.ts';
import { nodeAgentPaths } from '../../node/node-agent.ts';
import { stopGatewayByPidFile } from '../../node/gateway-process.ts';
import { dockerdPaths, dockerdPid, stopDockerd } from '../../swarm/dockerd-process.ts';
import { cmdlineOf, isAlive, readPidFile, stopByPidFile } from '../../process/process-control.ts';
import type { NodeAgentConfig } from '../../protocol/agent-config.ts';

/** The agent's own entry: the same command line as the CLI, loading only the agent (src/cli/node-main.ts). */
export const AGENT_ENTRY = fileURLToPath(new URL('../../../bin/swarmkeeper-node.js', import.meta.url));

export interface AgentLaunch {
  readonly agent: NodeAgentConfig;
  readonly instanceId: string;
  readonly address: string;
  readonly nodeDir: string;
  /** argv prefix that runs the CLI; default [node, bin/swarmkeeper-node.js]. */
  readonly command?: readonly string[];
  readonly logLevel?: string;
}

export function agentFiles(nodeDir: string) {
  return { dataDir: join(nodeDir, 'agent'), pidFile: join(nodeDir, 'agent.pid'), logFile: join(nodeDir, 'agent.log') };
}

/** The agent's command line: global management-etcd flags, then `node bootstrap ...`. */
export function agentArgv(l: AgentLaunch): string[] {
  const files = agentFiles(l.nodeDir);
  return [
    ...(l.command ?? [process.execPath, AGENT_ENTRY]),
    '--etcd-endpoints',
    l.agent.managementEtcd.endpoints.join(','),
    '--prefix',
    l.agent.managementEtcd.prefix,
    '--log-level',
    l.logLevel ?? 'info',
    'node',
    'bootstrap',
    '--role',
    l.agent.role,
    '--cluster',
    l.agent.cluster,
    '--instance-id',
    l.instanceId,
    '--address',
    l.address,
    '--docker-host',
    `unix://${dockerdPaths(l.nodeDir).socketPath}`,
    '--data-dir',
    files.dataDir,
  ];
}

/**
 * What the agent inherits of the controller's environment: the process basics and the
 * management etcd's TLS file paths, nothing else. The controller's secrets (the etcd
 * password, the webhook token, the notification URL, cloud credentials) stay with it;
 * everything the agent must know comes on its command line.
 */
const AGENT_ENV = [
  'PATH',
  'HOME',
  'USER',
  'TMPDIR',
  'LANG',
  'LC_ALL',
  'TZ',
  'NODE_OPTIONS',
  'NODE_EXTRA_CA_CERTS',
  'SWARMKEEPER_LOG_LEVEL',
  'SWARMKEEPER_ETCD_CACERT',
  'SWARMKEEPER_ETCD_CERT',
  'SWARMKEEPER_ETCD_KEY',
];

export function agentEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const name of AGENT_ENV) if (env[name] !== undefined) out[name] = env[name];
  return out;
}

/** Starts the agent detached (own session and process group); returns its pid. */
export function spawnAgent(l: AgentLaunch): number {
  const files = agentFiles(l.nodeDir);
  const [cmd, ...args] = agentArgv(l);
  const logFd = openSync(files.logFile, 'a');
  try {
    const child = spawn(cmd as string, args, { detached: true, stdio: ['ignore', logFd, logFd], env: agentEnv(process.env) });
    if (child.pid === undefined) throw new Error(`could not spawn the node agent (${cmd})`);
    child.unref();
    writeFileSync(files.pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(logFd);
  }
}

/** The live agent of the node, by pid file, when /proc says it is this instance's agent. */
export function agentPid(nodeDir: string, instanceId: string): number | undefined {
  const pid = readPidFile(agentFiles(nodeDir).pidFile);
  if (pid === undefined || !isAlive(pid)) return undefined;
  return isAgentOf(cmdlineOf(pid), instanceId) ? pid : undefined;
}

function isAgentOf(cmdline: string, instanceId: string): boolean {
  return cmdline.includes('bootstrap') && cmdline.includes(instanceId);
}

export interface NodeLiveness {
  readonly dockerd: boolean;
  readonly agent: boolean;
}

export function livenessOf(nodeDir: string, instanceId: string): NodeLiveness {
  return { dockerd: existsSync(nodeDir) && dockerdPid(nodeDir) !== undefined, agent: agentPid(nodeDir, instanceId) !== undefined };
}

/**
 * Stops everything of the node: the agent's process group (SIGTERM, SIGKILL after 10 s),
 * its etcd member or gateway by pid file, then dockerd (with its containerd; by its pid
 * at spawn too, for one still booting). Resolves when none of them runs. Safe to repeat.
 */
export async function stopNodeProcesses(nodeDir: string, instanceId: string, dockerdSpawnPid?: number): Promise<void> {
  await stopByPidFile(agentFiles(nodeDir).pidFile, { isOurs: (cmd) => isAgentOf(cmd, instanceId), timeoutMs: 10_000, group: true });
  const paths = nodeAgentPaths(agentFiles(nodeDir).dataDir);
  await stopEtcdByPidFile(paths.etcdPidFile, 10_000);
  await stopGatewayByPidFile(paths.gatewayPidFile);
  if (existsSync(nodeDir)) await stopDockerd(nodeDir, 20_000, dockerdSpawnPid);
}
