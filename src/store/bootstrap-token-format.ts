// The shapes of the bootstrap secrets and how they are derived; no storage here
// (bootstrap-tokens.ts keeps the records in the management etcd).
//
// A bootstrap token is `skb1.<id>.<secret>`: <id> names its record, only sha256(<secret>)
// is stored, and the secret is HMAC(cluster key, cluster|clientToken|role), so issuing
// again for the same launch intent yields the same token. A node credential is
// `skn1.<mac>`, HMAC(cluster key, "endpoints" NUL cluster NUL instance id): derived,
// never stored.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Role } from '../spec/schema.ts';

export const TOKEN_SCHEME = 'skb1';
export const NODE_CREDENTIAL_SCHEME = 'skn1';

export function parseBootstrapToken(token: string): { id: string; secret: string } | undefined {
  const m = /^skb1\.([0-9a-f]{16})\.([0-9a-f]{32})$/.exec(token.trim());
  return m ? { id: m[1] as string, secret: m[2] as string } : undefined;
}

/** The token of one launch intent: the same cluster, client token and role give the same token. */
export function deriveBootstrapToken(
  key: Buffer,
  launch: { readonly cluster: string; readonly clientToken: string; readonly role: Role },
): { id: string; secret: string; token: string } {
  const id = sha256Hex(`${launch.cluster}|${launch.clientToken}`).slice(0, 16);
  const secret = createHmac('sha256', key).update(`${launch.cluster}|${launch.clientToken}|${launch.role}`).digest('hex').slice(0, 32);
  return { id, secret, token: `${TOKEN_SCHEME}.${id}.${secret}` };
}

export function deriveNodeCredential(key: Buffer, cluster: string, instanceId: string): string {
  // NUL separators: no token's HMAC input (cluster|clientToken|role) can equal this one.
  const mac = createHmac('sha256', key).update(`endpoints\0${cluster}\0${instanceId}`).digest('hex');
  return `${NODE_CREDENTIAL_SCHEME}.${mac.slice(0, 40)}`;
}

/** Whether `credential` is the node credential `expected` (both skn1.<mac>), compared in constant time. */
export function sameNodeCredential(credential: string, expected: string): boolean {
  const m = /^skn1\.([0-9a-f]{40})$/.exec(credential);
  if (!m?.[1]) return false;
  return sameDigest(m[1], expected.slice(NODE_CREDENTIAL_SCHEME.length + 1));
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Constant-time comparison of two hex digests (length is public: both are sha256). */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}
