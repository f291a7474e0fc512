// A throwaway certificate authority made with openssl (EC P-256 keys: fast to make), valid
// two days, and leaf certificates it signs. Files go into the caller's directory under
// `prefix`, which the caller removes.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface OpensslCa {
  /** Path of a file of this CA's set: `file('ca.crt')`, `file('server.key')`. */
  file(name: string): string;
  /** Makes `<name>.key` and `<name>.crt` for `subject`, with `extensions` (an openssl extfile's lines). */
  sign(name: string, subject: string, extensions: string): void;
}

export function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function makeOpensslCa(dir: string, caSubject: string, prefix = ''): OpensslCa {
  const file = (name: string): string => join(dir, `${prefix}${name}`);
  openssl(['req', '-x509', ...EC_KEY, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '2', '-subj', caSubject]);
  return {
    file,
    sign(name, subject, extensions) {
      writeFileSync(file(`${name}.ext`), extensions);
      openssl(['req', ...EC_KEY, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', subject]);
      openssl([
        'x509',
        '-req',
        '-in',
        file(`${name}.csr`),
        '-CA',
        file('ca.crt'),
        '-CAkey',
        file('ca.key'),
        '-CAcreateserial',
        '-out',
        file(`${name}.crt`),
        '-days',
        '2',
        '-extfile',
        file(`${name}.ext`),
      ]);
    },
  };
}

/** The PEM certificate of a new self-signed CA whose key is thrown away (a CA only to be trusted). */
export function selfSignedCaPem(subject: string): string {
  return execFileSync('openssl', ['req', '-x509', ...EC_KEY, '-keyout', '/dev/null', '-days', '1', '-subj', subject], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
}
