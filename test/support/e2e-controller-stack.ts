// The shipped manifests/swarm/stack.yml deployed on the e2e's converged swarm the way the
// stack's header tells users to: the secrets it lists, a `swarmkeeper` etcd user limited
// to the controller's prefix, and `docker stack deploy` with only its documented
// variables, from the docker CLI talking to a manager over mutual TLS.
//
// One addition, in a compose file of its own beside the shipped one: moto's credentials.
// On EC2 the replicas get theirs from the instance role through the metadata service;
// here the SDK must never look for it (169.254.169.254 is not a loopback address).
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { E2eWorld } from './ec2-e2e-world.ts';
import { BOOTSTRAP_PORT } from './ec2-e2e-world.ts';
import { controllerLeads } from './https-get.ts';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const STACK = 'swarmkeeper';
const ETCD_USER_PASSWORD = 'e2e-stack-Pass-42';
const AWS_FOR_MOTO = `version: "3.8"
services:
  controller:
    environment:
      AWS_ACCESS_KEY_ID: testing
      AWS_SECRET_ACCESS_KEY: testing
      AWS_EC2_METADATA_DISABLED: "true"
`;

/** `docker …` against a manager's engine (tcp, port 2376, the controller's client certificate). */
export async function managerDocker(
  world: E2eWorld,
  manager: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<string> {
  const t = world.dockerTls;
  const tls = ['--tlsverify', '--tlscacert', t.ca, '--tlscert', t.cert, '--tlskey', t.key, '-H', `tcp://${manager}:2376`];
  const out = await run('docker', [...tls, ...args], { env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  return out.stdout + out.stderr;
}

/** Deploys the controller stack through `manager`; its replicas run `image` (the registry reference the nodes pulled). */
export async function deployControllerStack(world: E2eWorld, manager: string, image: string): Promise<void> {
  const front = world.bootstrap;
  const etcdTls = world.mgmt.tls;
  if (!front || !etcdTls) throw new Error('the controller stack needs the HTTPS bootstrap front and a TLS management etcd');
  await createControllerEtcdUser(world);
  const secrets: Record<string, string> = {
    swarmkeeper_etcd_password: ETCD_USER_PASSWORD,
    swarmkeeper_etcd_ca: readFileSync(etcdTls.caFile, 'utf8'),
    swarmkeeper_etcd_cert: readFileSync(etcdTls.certFile, 'utf8'),
    swarmkeeper_etcd_key: readFileSync(etcdTls.keyFile, 'utf8'),
    swarmkeeper_tls_cert: readFileSync(front.certFile, 'utf8'),
    swarmkeeper_tls_key: readFileSync(front.keyFile, 'utf8'),
    swarmkeeper_bootstrap_ca: readFileSync(front.caFile, 'utf8'),
    swarmkeeper_alert_token: 'e2e-stack-alert-token-0123456789abcdef',
  };
  const stackFile = join(ROOT, 'manifests/swarm/stack.yml');
  const header = readFileSync(stackFile, 'utf8');
  for (const [name, value] of Object.entries(secrets)) {
    if (!header.includes(`docker secret create ${name} `)) throw new Error(`the stack's header does not list the secret ${name}`);
    const file = join(world.certDir, `secret-${name}`);
    writeFileSync(file, value, { mode: 0o600 });
    await managerDocker(world, manager, ['secret', 'create', name, file]);
  }
  const override = join(world.certDir, 'stack-aws-for-moto.yml');
  writeFileSync(override, AWS_FOR_MOTO);
  const documented = {
    SWARMKEEPER_ETCD_ENDPOINTS: world.mgmt.endpoints.join(','),
    SWARMKEEPER_BOOTSTRAP_URL: front.url,
    SWARMKEEPER_IMAGE: image,
  };
  await managerDocker(world, manager, ['stack', 'deploy', '--resolve-image', 'never', '-c', stackFile, '-c', override, STACK], documented);
}

/** The user the stack names, allowed the controller's prefix only. */
async function createControllerEtcdUser(world: E2eWorld): Promise<void> {
  const role = world.client.role('swarmkeeper');
  await role.create();
  await role.grant({ permission: 'Readwrite', range: world.client.range({ prefix: world.prefix }) });
  const user = await world.client.user('swarmkeeper').create(ETCD_USER_PASSWORD);
  await user.addRole('swarmkeeper');
}

/** The replica's URL on a manager (host network, the manager's private address). */
export function replicaUrl(manager: string): string {
  return `https://${manager}:${BOOTSTRAP_PORT}`;
}

/** Which of `managers` runs the leading replica, asked over HTTPS as the bootstrap URL's name. */
export async function leadingReplica(world: E2eWorld, managers: readonly string[]): Promise<string | undefined> {
  const front = world.bootstrap;
  if (!front) return undefined;
  const leads = await Promise.all(managers.map((m) => controllerLeads(replicaUrl(m), front.caFile, front.forwarder.address)));
  return managers.find((_, i) => leads[i] === true);
}

/** The replicas' logs, for a failure message. */
export async function stackLogs(world: E2eWorld, manager: string): Promise<string> {
  return managerDocker(world, manager, ['service', 'logs', '--tail', '60', `${STACK}_controller`]).catch((e: unknown) => String(e));
}

/** The replicas' state as `docker service ps` shows it. */
export async function stackTasks(world: E2eWorld, manager: string): Promise<string> {
  return managerDocker(world, manager, ['service', 'ps', '--no-trunc', `${STACK}_controller`]).catch((e: unknown) => String(e));
}
