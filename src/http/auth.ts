// Bearer-token check in constant time. Both sides are hashed first so the comparison
// runs on equal-length digests (timingSafeEqual throws on unequal lengths, and a length
// check of its own would leak the token's length).
import { createHash, timingSafeEqual } from 'node:crypto';

/** Whether an Authorization header carries `Bearer <expected>`. */
export function bearerTokenMatches(header: string | undefined, expected: string): boolean {
  if (header === undefined) return false;
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  const given = m?.[1] ?? '';
  const ok = timingSafeEqual(digest(given), digest(expected));
  return ok && given.length > 0;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
