// The CA bundle a node trusts for the controller's https:// bootstrap URL: PEM
// certificates only. The controller renders it into every node's user-data and the
// agent passes it as the only trust anchors of its requests to the controller, so a
// private CA works without touching the node's system store, and nothing else is
// trusted for that URL. A file that also holds a private key is refused: the bundle is
// copied into user-data, readable from the instance metadata for the node's life.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SwarmkeeperError } from '../errors.ts';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Reads and checks a CA bundle; errors name `flag` and the file, never its content. */
export function readCaBundle(file: string, flag: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SwarmkeeperError('Usage', `${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`, { cause: err });
  }
  return checkCaBundle(text, `${flag} ${file}`);
}

/** The bundle normalised to its certificates, one after the other; `where` names it in errors. */
export function checkCaBundle(text: string, where: string): string {
  if (/PRIVATE KEY-----/.test(text)) {
    throw new SwarmkeeperError(
      'Usage',
      `${where}: the file holds a private key; give the CA certificate only (it is copied into every node's user-data)`,
    );
  }
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new SwarmkeeperError('Usage', `${where}: no PEM certificate (-----BEGIN CERTIFICATE-----) in the file`);
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw new SwarmkeeperError('Usage', `${where}: certificate ${i + 1} does not parse (${(err as Error).message})`, { cause: err });
    }
  });
  return `${blocks.join('\n')}\n`;
}
