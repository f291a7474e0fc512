// Loading a part of the program only where it is used. The controller's resident size
// is mostly code: the AWS SDK clients and the Kubernetes client alone are larger than
// the rest of it. Each is imported at the point of use, so a controller that never
// manages an EC2 cluster, keeps no S3 backups or reads no Kubernetes objects never loads
// them.
import { createRequire } from 'node:module';
import { SwarmkeeperError, messageOf } from './errors.ts';

const requirePackage = createRequire(import.meta.url);

/**
 * Runs `load` (a dynamic import) once and remembers the module. A failure names the
 * setting that needs the module, so a slim install that left a client library out says
 * which option asked for it rather than only that a package is missing.
 */
export function lazyModule<T>(neededBy: string, load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    loading ??= load().catch((err: unknown) => {
      loading = undefined;
      throw notLoaded(neededBy, err);
    });
    return loading;
  };
}

/**
 * The same for a package that synchronous code uses (the Kubernetes client: a kubeconfig
 * is read while the command line is checked). Node loads an ES module package
 * synchronously through require() when it has no top-level await, and shares the
 * instance with import(). `T` is the package's type (`typeof Package` from an
 * `import type * as Package`).
 */
export function lazyPackage<T>(neededBy: string, specifier: string): () => T {
  let loaded: T | undefined;
  return () => {
    try {
      loaded ??= requirePackage(specifier) as T;
      return loaded;
    } catch (err) {
      throw notLoaded(neededBy, err);
    }
  };
}

function notLoaded(neededBy: string, err: unknown): SwarmkeeperError {
  return new SwarmkeeperError('Internal', `${neededBy} needs a module that could not be loaded: ${messageOf(err)}`, {
    cause: err,
    details: { neededBy },
  });
}
