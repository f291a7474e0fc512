// Loading a part of the program only where it is used. The controller's resident size
// is mostly code: the AWS SDK clients and the Kubernetes client alone are larger than
// the rest of it. Each is imported at the point of use, so a controller that never
// manages an EC2 cluster, keeps no S3 backups or reads no Kubernetes objects never loads
// them.
import { SwarmkeeperError, messageOf } from './errors.ts';

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
      throw new SwarmkeeperError('Internal', `${neededBy} needs a module that could not be loaded: ${messageOf(err)}`, {
        cause: err,
        details: { neededBy },
      });
    });
    return loading;
  };
}
