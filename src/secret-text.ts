// Secrets inside free text. Log fields are redacted by path (src/log.ts), but an error's
// message or stack is one string, and peers echo what they were sent: dockerd puts the
// join token in some join errors, a URL may carry a password, a request error may
// quote an Authorization header. Whatever text may hold such a value passes through
// scrubSecretText before it is logged; the shapes below are the secrets swarmkeeper
// handles.
const PATTERNS: readonly (readonly [RegExp, string])[] = [
  // Swarm join tokens.
  [/SWMTKN-[0-9A-Za-z-]+/g, 'SWMTKN-[redacted]'],
  // Bootstrap tokens (skb1.<id>.<secret>, src/store/bootstrap-tokens.ts): the id stays, it names a record.
  [/\bskb1\.([0-9A-Za-z]+)\.[0-9A-Za-z_+/=-]+/g, 'skb1.$1.[redacted]'],
  // Authorization header values.
  [/\b(Bearer|Basic)\s+[0-9A-Za-z._~+/=-]+/gi, '$1 [redacted]'],
  // user:password@ in a URL.
  [/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+@/gi, '$1[redacted]@'],
  // A PEM private key, whole.
  [/-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, '-----BEGIN $1PRIVATE KEY----- [redacted]'],
  // name=value and "name": "value" pairs whose name says secret.
  [
    /\b(password|passwd|token|secret|secretAccessKey|sessionToken|webhookToken|bootstrapToken|joinToken)(["']?\s*[:=]\s*["']?)[^\s"'&,;}]+/gi,
    '$1$2[redacted]',
  ],
];

/** `text` with every secret of a known shape replaced by `[redacted]`. */
export function scrubSecretText(text: string): string {
  let out = text;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
