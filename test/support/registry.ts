// A real image registry for tests (Debian `docker-registry`) on a loopback address of its
// own (block 48) with its storage in a temp dir, and the busybox image made on this
// machine. stop() stops the registry, removes the dir (unless the caller gave it) and
// releases the address; a test run that dies kills it through the exit hook.
//
//   const registry = await startTestRegistry();
//   const image = await registry.pushBusybox();   // '127.48.0.2:5000/busybox:local'
//   ...
//   await registry.stop();
//
// Local-provider nodes pull from it with no daemon flag: dockerd treats 127.0.0.0/8
// registries as insecure (plain HTTP) by default.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { releaseLoopback, reserveLoopback } from '../../src/net/loopback-pool.ts';
import { pushBusyboxImage } from '../../src/workload/busybox-image.ts';
import { startRegistry } from '../../src/workload/registry-process.ts';

export const REGISTRY_TEST_BLOCK = 48;

export interface TestRegistry {
  readonly address: string;
  readonly port: number;
  /** http://address:port */
  readonly url: string;
  /** address:port, the prefix of image references. */
  readonly host: string;
  /** Builds the busybox image and pushes it; returns its reference. */
  pushBusybox(repository?: string, tag?: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startTestRegistry(opts: { dir?: string } = {}): Promise<TestRegistry> {
  const address = reserveLoopback({ block: REGISTRY_TEST_BLOCK });
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'sk-registry-'));
  const cleanUp = (): void => {
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    releaseLoopback(address);
  };
  try {
    const reg = await startRegistry({ address, dir });
    process.once('exit', cleanUp);
    return {
      address,
      port: reg.port,
      url: reg.url,
      host: reg.host,
      pushBusybox: async (repository, tag) =>
        (await pushBusyboxImage({ registryUrl: reg.url, ...(repository ? { repository } : {}), ...(tag ? { tag } : {}) })).reference,
      async stop() {
        await reg.stop();
        process.removeListener('exit', cleanUp);
        cleanUp();
      },
    };
  } catch (err) {
    cleanUp();
    throw err;
  }
}

/** The short name other test helpers use: start({ dir? }) -> { address, port, url, stop() }. */
export { startTestRegistry as start };
