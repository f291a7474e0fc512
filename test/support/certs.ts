// Throwaway certificates for tests, made with openssl (EC keys: fast to make): a CA, a
// server certificate for given addresses (plus 127.0.0.1 and localhost), and a client
// certificate (CN root). Files go into the caller's directory, which the caller removes.
import { makeOpensslCa } from './openssl-ca.ts';

export interface TestCertificates {
  readonly caFile: string;
  /** Client certificate (CN root) and key. */
  readonly certFile: string;
  readonly keyFile: string;
  /** What servers present (SANs: the given addresses, 127.0.0.1, localhost). */
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
}

export function makeTestCertificates(dir: string, addresses: readonly string[], opts: { readonly name?: string } = {}): TestCertificates {
  const ca = makeOpensslCa(dir, '/CN=swarmkeeper-test-ca', opts.name ? `${opts.name}-` : '');
  const p = ca.file;
  const sans = [...addresses, '127.0.0.1']
    .map((a) => `IP:${a}`)
    .concat('DNS:localhost')
    .join(',');
  ca.sign(
    'server',
    '/CN=swarmkeeper-test-server',
    `subjectAltName=${sans}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n`,
  );
  ca.sign('client', '/CN=root', 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n');
  return {
    caFile: p('ca.crt'),
    certFile: p('client.crt'),
    keyFile: p('client.key'),
    serverCertFile: p('server.crt'),
    serverKeyFile: p('server.key'),
  };
}
