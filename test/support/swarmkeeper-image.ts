// The swarmkeeper image for tests that run it (`docker run` of the agent or the
// controller, a registry push): built by scripts/image.sh from manifests/Dockerfile, on
// its own private dockerd, and cached under ${SWARMKEEPER_CACHE_DIR:-/var/cache/swarmkeeper}/image
// (a first build takes minutes; a cached one starts no daemon and returns at once).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = new URL('../../scripts/image.sh', import.meta.url).pathname;
/** A fresh build (debootstrap, two `npm ci`) on a loaded 2-core machine. */
const BUILD_TIMEOUT_MS = 30 * 60_000;

export interface SwarmkeeperImage {
  /** `swarmkeeper:<package version>`, as the archive tags it. */
  readonly ref: string;
  /** A `docker save` archive of `ref`, to `docker load` into any daemon. */
  readonly archive: string;
}

async function image(args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await run('bash', [SCRIPT, ...args], { timeout: BUILD_TIMEOUT_MS, maxBuffer: 1 << 20 });
    return stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`scripts/image.sh ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

/** Builds the image when its inputs changed, and says where it is. */
export async function buildSwarmkeeperImage(): Promise<SwarmkeeperImage> {
  const archive = await image(['--archive']);
  return { ref: await image([]), archive };
}

/** Builds when needed, then `docker load`s the image into the daemon at `dockerHost` (unix:///…). Returns its reference. */
export async function loadSwarmkeeperImage(dockerHost: string): Promise<string> {
  return image(['--load', dockerHost]);
}
