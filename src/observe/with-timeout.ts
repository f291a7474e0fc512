// Reading one source of the Snapshot: bounded in time, and a failure becomes data
// (`{ status: 'unavailable', error }`) instead of an exception, so one dead peer never
// unwinds the whole observation (design rule 1; house style "unavailable sources are data").
import { messageOf } from '../errors.ts';
import type { Source } from '../model/snapshot.ts';

/**
 * Rejects with a message naming `what` when `promise` has not settled within `ms`. The
 * deadline is a global setTimeout, unref'd so it never holds the process open (not
 * AbortSignal.timeout, whose timer a test's fake clock cannot drive: the property
 * histories run observation deadlines on virtual time). The ports called here take no
 * signal yet, so the call itself runs on in the background.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    timer.unref?.();
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/** Runs `read` with a deadline and turns the outcome into a Source. Never throws. */
export async function readSource<T>(what: string, ms: number, read: () => Promise<T>): Promise<Source<T>> {
  try {
    return { status: 'ok', value: await withTimeout(read(), ms, what) };
  } catch (err) {
    return { status: 'unavailable', error: `${what}: ${messageOf(err)}` };
  }
}

/** The value of a source, or its partial value, or `fallback`. */
export function valueOr<T>(source: Source<T>, fallback: T): T {
  return source.status === 'ok' ? source.value : (source.partial ?? fallback);
}
