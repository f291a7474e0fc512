// The user-data of the hand-scripted EC2 baseline: what swarmkeeper's nodes boot with,
// minus swarmkeeper. It is rendered by swarmkeeper's own node model, so the metadata
// script, docker's drop-in (engine labels, metrics address, DOCKER_OPTS) and the masked
// docker-tcp.socket are byte for byte the same; only the bootstrap unit (the agent) and
// the units that restart docker once the agent has its certificate are left out.
//
// Managers serve docker over mutual TLS from their first start: an operator who pins a
// manager's private address (RunInstances PrivateIpAddress, as static etcd clusters
// need anyway) can issue its server certificate from the same docker CA before the
// launch and ship it in the user-data. Workers have no TCP API, as with swarmkeeper.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildNodeFiles, NODE_ENV_SCRIPT, TLS_DIR, type NodeFile } from '../src/cloudconfig/node-model.ts';
import { renderIgnition } from '../src/cloudconfig/render-ignition.ts';
import type { DockerCa } from '../src/providers/ec2/docker-ca.ts';
import type { Role } from '../src/spec/schema.ts';

/** The units a baseline node keeps from swarmkeeper's rendering: metadata, docker's drop-in, the mask. */
const KEPT_UNITS = new Set(['swarmkeeper-node-env.service', 'docker.service', 'docker-tcp.socket']);

export interface BaselineUserDataInput {
  readonly cluster: string;
  readonly role: Role;
  /** A manager's TLS files, issued for its pinned private address. */
  readonly tls?: { readonly caPem: string; readonly certPem: string; readonly keyPem: string };
}

export function baselineUserData(input: BaselineUserDataInput): string {
  const model = buildNodeFiles({
    // No exchange and no management etcd: the agent's unit is dropped below, and with it
    // the only place these values appear.
    agent: { cluster: input.cluster, role: input.role, managementEtcd: { endpoints: ['127.0.0.1:2379'], prefix: '/unused' } },
    units: [],
    dockerTls: input.role === 'manager',
  });
  const files: NodeFile[] = model.files.filter((f) => f.path === NODE_ENV_SCRIPT);
  if (input.tls) {
    files.push(
      { path: `${TLS_DIR}/ca.pem`, contents: input.tls.caPem, mode: 0o644 },
      { path: `${TLS_DIR}/server.pem`, contents: input.tls.certPem, mode: 0o644 },
      { path: `${TLS_DIR}/server-key.pem`, contents: input.tls.keyPem, mode: 0o600 },
    );
  }
  return renderIgnition({ role: input.role, files, units: model.units.filter((u) => KEPT_UNITS.has(u.name)) });
}

/** A key made here and a server certificate for `address` from the cluster's docker CA (the key is a throwaway bench key). */
export async function managerTlsFiles(ca: DockerCa, address: string): Promise<NonNullable<BaselineUserDataInput['tls']>> {
  const dir = mkdtempSync('/tmp/skb-tls-');
  try {
    const key = join(dir, 'key.pem');
    const csr = join(dir, 'csr.pem');
    execFileSync(
      'openssl',
      ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat([
        '-keyout',
        key,
        '-out',
        csr,
        '-subj',
        `/CN=${address}`,
      ]),
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const certPem = await ca.issueServerCert(readFileSync(csr, 'utf8'), address);
    return { caPem: ca.caPem, certPem, keyPem: readFileSync(key, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
