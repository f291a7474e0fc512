// Throwaway certificates for tests, made with openssl (EC keys: fast to make): a CA, a
// server certificate for given addresses (plus 127.0.0.1 and localhost), and a client
// certificate (CN root). Files go into the caller's directory, which the caller removes.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

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
  const p = (f: string): string => join(dir, `${opts.name ? `${opts.name}-` : ''}${f}`);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const openssl = (args: string[]): void => {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  openssl(['req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '2', '-subj', '/CN=swarmkeeper-test-ca']);
  const sans = [...addresses, '127.0.0.1']
    .map((a) => `IP:${a}`)
    .concat('DNS:localhost')
    .join(',');
  writeFileSync(
    p('server.ext'),
    `subjectAltName=${sans}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n`,
  );
  openssl(['req', ...ec, '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=swarmkeeper-test-server']);
  openssl([
    'x509',
    '-req',
    '-in',
    p('server.csr'),
    '-CA',
    p('ca.crt'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-out',
    p('server.crt'),
    '-days',
    '2',
    '-extfile',
    p('server.ext'),
  ]);
  writeFileSync(p('client.ext'), 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n');
  openssl(['req', ...ec, '-keyout', p('client.key'), '-out', p('client.csr'), '-subj', '/CN=root']);
  openssl([
    'x509',
    '-req',
    '-in',
    p('client.csr'),
    '-CA',
    p('ca.crt'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-out',
    p('client.crt'),
    '-days',
    '2',
    '-extfile',
    p('client.ext'),
  ]);
  return {
    caFile: p('ca.crt'),
    certFile: p('client.crt'),
    keyFile: p('client.key'),
    serverCertFile: p('server.crt'),
    serverKeyFile: p('server.key'),
  };
}
