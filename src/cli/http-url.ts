// One check for flags that take an http(s) URL (the bootstrap URL, the notify webhook),
// and the rule tying --bootstrap-ca-file to an https:// --bootstrap-url, which the
// controller, render-cloud-config and the node agent share.
// Its own module: the node agent's entry point loads it without the rest of the CLI.
import { SwarmkeeperError } from '../errors.ts';
import { readCaBundle } from '../net/ca-bundle.ts';

/** An absolute http:// or https:// URL with a host. */
export function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host !== '';
  } catch {
    return false;
  }
}

/** --bootstrap-ca-file says whom nodes trust for the bootstrap URL: it needs an https:// one. */
export function checkBootstrapCaFlag(caFile: string | undefined, bootstrapUrl: string | undefined): void {
  if (caFile !== undefined && !bootstrapUrl?.startsWith('https://')) {
    throw new SwarmkeeperError('Usage', '--bootstrap-ca-file needs an https:// --bootstrap-url: it is what nodes trust for that URL');
  }
}

/** The checked CA bundle of --bootstrap-ca-file, or undefined without the flag. */
export function readBootstrapCaFlag(caFile: string | undefined, bootstrapUrl: string | undefined): string | undefined {
  checkBootstrapCaFlag(caFile, bootstrapUrl);
  return caFile === undefined ? undefined : readCaBundle(caFile, '--bootstrap-ca-file');
}
