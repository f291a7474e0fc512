import { makeOpensslCa } from '../../test/support/openssl-ca.ts';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkCaBundle, readCaBundle } from './ca-bundle.ts';

const dir = mkdtempSync(join(tmpdir(), 'sk-ca-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function makeCa(name: string): { cert: string; key: string } {
  const ca = makeOpensslCa(dir, `/CN=${name}`, `${name}-`);
  return { cert: readFileSync(ca.file('ca.crt'), 'utf8'), key: readFileSync(ca.file('ca.key'), 'utf8') };
}

describe('CA bundles for the bootstrap URL', () => {
  const a = makeCa('ca-a');
  const b = makeCa('ca-b');

  it('keeps every certificate of a bundle, and only the certificates', () => {
    const bundle = checkCaBundle(`# ops CA\n${a.cert}\nsome text\n${b.cert}`, 'x');
    expect(bundle).toBe(`${a.cert.trim()}\n${b.cert.trim()}\n`);
  });

  it('refuses a file with a private key, without repeating the key', () => {
    writeFileSync(join(dir, 'mixed.pem'), `${a.cert}${a.key}`);
    let message = '';
    try {
      readCaBundle(join(dir, 'mixed.pem'), '--bootstrap-ca-file');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^--bootstrap-ca-file \S+mixed\.pem: the file holds a private key; give the CA certificate only/);
    expect(message).not.toContain(a.key.split('\n')[1]);
  });

  it('refuses a missing file, a file with no certificate, and a certificate that does not parse, naming the flag and file', () => {
    expect(() => readCaBundle(join(dir, 'absent.pem'), '--bootstrap-ca-file')).toThrow(/^--bootstrap-ca-file \S+absent\.pem: ENOENT$/);
    writeFileSync(join(dir, 'empty.pem'), 'not a certificate\n');
    expect(() => readCaBundle(join(dir, 'empty.pem'), '--bootstrap-ca-file')).toThrow(/empty\.pem: no PEM certificate/);
    const broken = a.cert.replace(/\n[A-Za-z0-9+/]{20}/, '\nAAAAAAAAAAAAAAAAAAAA');
    expect(() => checkCaBundle(`${b.cert}${broken}`, 'bundle.pem')).toThrow(/^bundle\.pem: certificate 2 does not parse/);
  });
});
