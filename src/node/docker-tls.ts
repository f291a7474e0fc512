// A manager's half of the controller's TLS access to its dockerd (ec2, --docker-tls-dir):
// the node makes its own key (it never leaves the node) and a PKCS#10 request, sends the
// request with its bootstrap token exchange, and writes the certificate and CA it gets
// back next to the key, where the node's docker unit expects them:
//   <dir>/server-key.pem (0600)   <dir>/server.csr   <dir>/server.pem   <dir>/ca.pem
// Same library and algorithm as the cluster CA that signs it (src/providers/ec2/docker-ca.ts).
import { webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
// @peculiar/x509 resolves its algorithm providers through tsyringe, which needs this polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export function dockerTlsPaths(dir: string) {
  return { key: join(dir, 'server-key.pem'), csr: join(dir, 'server.csr'), cert: join(dir, 'server.pem'), ca: join(dir, 'ca.pem') };
}

/** The node's certificate request, made (with its key) on first use and reused after. */
export async function ensureDockerCsr(dir: string, address: string): Promise<string> {
  const p = dockerTlsPaths(dir);
  if (existsSync(p.key) && existsSync(p.csr)) return readFileSync(p.csr, 'utf8');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${address}`,
    keys,
    signingAlgorithm: ALG,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: address }])],
  });
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  writeAtomically(p.key, `${x509.PemConverter.encode(der, 'PRIVATE KEY')}\n`, 0o600);
  const pem = `${csr.toString('pem')}\n`;
  writeAtomically(p.csr, pem, 0o644);
  return pem;
}

/**
 * Writes what the controller's CA issued; dockerd serves TLS with it and the key made
 * above. Returns true when server.pem was written, i.e. when the node's path unit
 * (swarmkeeper-docker-tls.path) now restarts dockerd, and the agent's container with it.
 */
export function writeDockerTls(dir: string, tls: { readonly ca: string; readonly cert: string }): boolean {
  const p = dockerTlsPaths(dir);
  writeAtomically(p.ca, tls.ca.endsWith('\n') ? tls.ca : `${tls.ca}\n`, 0o644);
  return writeAtomically(p.cert, tls.cert.endsWith('\n') ? tls.cert : `${tls.cert}\n`, 0o644);
}

/**
 * Unchanged content is not written again: a systemd path unit (PathChanged=) restarts
 * docker whenever server.pem is written, and the agent re-applies its saved answer at
 * every start, so rewriting the same certificate would restart docker, and with it the
 * agent, in a loop until systemd's start limit stops docker for good.
 */
function writeAtomically(file: string, text: string, mode: number): boolean {
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return false;
  // Fsynced before the rename: the key and certificates must survive a crash whole.
  writeFileAtomic.sync(file, text, { mode, fsync: true });
  return true;
}
