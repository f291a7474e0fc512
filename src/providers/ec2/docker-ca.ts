// Docker TLS for a controller that runs outside the cluster: a per-cluster CA (ECDSA
// P-256) kept under keys.secrets, a server certificate for each manager's dockerd issued
// at bootstrap from the node's certificate request (the node's key never leaves it), and
// a client certificate for the controller. dockerd then serves its API on
// tcp://<private ip>:2376 with --tlsverify, which accepts only clients of this CA; the
// controller's DockerEndpoint carries {ca, cert, key}. There is no plain-TCP form.
//
// The server certificate's only subject alternative name is the instance's private
// address as the provider reports it: whatever names the request asks for are ignored.
import { webcrypto } from 'node:crypto';
// @peculiar/x509 resolves its algorithm providers through tsyringe, which needs this polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { SwarmkeeperError, wrapError } from '../../errors.ts';
import type { CreateOnceSecret } from '../../store/create-once-secret.ts';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** How long the certificates the CA issues (nodes' dockerd, clients) are valid. */
const ISSUED_CERT_DAYS = 365;

export interface DockerCa {
  readonly caPem: string;
  /** Signs a node's CSR (PEM) for its private address; the CSR's own names are ignored. */
  issueServerCert(csrPem: string, address: string, now?: number): Promise<string>;
  /** A client certificate and key for the controller (or an operator), and when the certificate expires. */
  issueClientCert(commonName: string, now?: number): Promise<{ cert: string; key: string; notAfter: Date }>;
}

interface StoredCa {
  readonly cert: string;
  readonly key: string;
}

export async function createDockerCa(cluster: string, now = Date.now(), validDays = 3650): Promise<{ ca: DockerCa; stored: StoredCa }> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=swarmkeeper docker CA ${cluster}`,
    keys,
    signingAlgorithm: ALG,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + validDays * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const stored = { cert: cert.toString('pem'), key: await privateKeyPem(keys.privateKey) };
  return { ca: await caFromStored(stored), stored };
}

/** The cluster's CA from its secret (keys.secrets), created on first use. */
export async function loadOrCreateDockerCa(secret: CreateOnceSecret, cluster: string): Promise<DockerCa> {
  try {
    const text = await secret.getOrCreate(async () => JSON.stringify((await createDockerCa(cluster)).stored));
    return await caFromStored(parseStoredCa(text, cluster));
  } catch (err) {
    throw wrapError(`loading the docker CA of cluster ${cluster}`, err);
  }
}

/** The cluster's CA from its stored record (the text of the `docker-ca` secret), read by the caller. */
export async function dockerCaFromRecord(text: string, cluster: string): Promise<DockerCa> {
  try {
    return await caFromStored(parseStoredCa(text, cluster));
  } catch (err) {
    throw wrapError(`loading the docker CA of cluster ${cluster}`, err);
  }
}

/**
 * The record holds the CA's private key: a record that does not parse is reported
 * without the parser's message or cause, which quote the text around the fault.
 */
function parseStoredCa(text: string, cluster: string): StoredCa {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const record = parsed as Partial<StoredCa> | undefined;
  if (typeof record?.cert !== 'string' || typeof record.key !== 'string')
    throw new SwarmkeeperError(
      'Corrupt',
      `the docker CA record of cluster ${cluster} (secrets/docker-ca) is not a {cert, key} JSON record: restore it from a backup of the management etcd`,
    );
  return { cert: record.cert, key: record.key };
}

async function caFromStored(stored: StoredCa): Promise<DockerCa> {
  const caCert = new x509.X509Certificate(stored.cert);
  const caKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(stored.key), ALG, false, ['sign']);
  const sign = async (o: {
    subject: string;
    publicKey: x509.PublicKey | CryptoKey;
    now: number;
    extensions: x509.Extension[];
  }): Promise<x509.X509Certificate> =>
    x509.X509CertificateGenerator.create({
      subject: o.subject,
      issuer: caCert.subject,
      publicKey: o.publicKey,
      signingKey: caKey as CryptoKey,
      signingAlgorithm: ALG,
      notBefore: new Date(o.now - 60_000),
      notAfter: new Date(o.now + ISSUED_CERT_DAYS * DAY_MS),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        await x509.AuthorityKeyIdentifierExtension.create(caCert),
        ...o.extensions,
      ],
    });
  return {
    caPem: stored.cert,
    async issueServerCert(csrPem, address, now = Date.now()) {
      let csr: x509.Pkcs10CertificateRequest;
      try {
        csr = new x509.Pkcs10CertificateRequest(csrPem);
      } catch (err) {
        throw new SwarmkeeperError(
          'SpecInvalid',
          `the docker certificate request is not a PEM PKCS#10 request: ${(err as Error).message}`,
          { cause: err },
        );
      }
      if (!(await csr.verify())) throw new SwarmkeeperError('SpecInvalid', 'the docker certificate request is not signed by its own key');
      const cert = await sign({
        subject: `CN=${address}`,
        publicKey: csr.publicKey,
        now,
        extensions: [
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
          new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: address }]),
        ],
      });
      return cert.toString('pem');
    },
    async issueClientCert(commonName, now = Date.now()) {
      const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
      const cert = await sign({
        subject: `CN=${commonName}`,
        publicKey: keys.publicKey,
        now,
        extensions: [
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        ],
      });
      return { cert: cert.toString('pem'), key: await privateKeyPem(keys.privateKey), notAfter: cert.notAfter };
    },
  };
}

/** The node side: a fresh key and a CSR for its dockerd (the agent sends the CSR, keeps the key). */
export async function createDockerCsr(address: string): Promise<{ csr: string; key: string }> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${address}`, keys, signingAlgorithm: ALG });
  return { csr: csr.toString('pem'), key: await privateKeyPem(keys.privateKey) };
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return `${x509.PemConverter.encode(der, 'PRIVATE KEY')}\n`;
}
