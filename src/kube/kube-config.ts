// Where the Kubernetes spec source finds its API server, in kubectl's order: --kubeconfig,
// else the KUBECONFIG variable, else ~/.kube/config, else the in-cluster service account
// (KUBERNETES_SERVICE_HOST and the token mounted in the pod). client-node's own
// loadFromDefault() would fall back to http://localhost:8080 when it finds nothing,
// which would only fail later, less clearly: that case is refused here, naming the ways.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { SwarmkeeperError, messageOf } from '../errors.ts';
import { clientNode } from './client-node.ts';

/**
 * `serviceAccountRoot` prefixes the pod's service account directory
 * (/var/run/secrets/kubernetes.io/serviceaccount), for tests outside a pod.
 */
export function loadKubeConfig(kubeconfigFile?: string, env: NodeJS.ProcessEnv = process.env, serviceAccountRoot = ''): KubeConfig {
  const kc = new (clientNode().KubeConfig)();
  const where = whereFrom(kubeconfigFile, env);
  try {
    if (where.kind === 'file') {
      if (!existsSync(where.file)) throw new SwarmkeeperError('Usage', `${where.flag}: ${where.file}: no such file`);
      kc.loadFromFile(where.file);
    } else if (where.kind === 'in-cluster') {
      // The token file is read again as the kubelet rotates it.
      kc.loadFromCluster(serviceAccountRoot);
    } else {
      throw new SwarmkeeperError(
        'Usage',
        'no Kubernetes API server to read SwarmClusters from: give --kubeconfig, set KUBECONFIG, or run in a pod with a service account',
      );
    }
  } catch (err) {
    if (err instanceof SwarmkeeperError) throw err;
    throw unreadableKubeconfig(where, err);
  }
  if (!kc.getCurrentCluster()) {
    throw new SwarmkeeperError(
      'Usage',
      `the kubeconfig${where.kind === 'file' ? ` ${where.file}` : ''} names no current cluster: set its current-context`,
    );
  }
  return kc;
}

type Where = { kind: 'file'; file: string; flag: string } | { kind: 'in-cluster' } | { kind: 'none' };

function whereFrom(kubeconfigFile: string | undefined, env: NodeJS.ProcessEnv): Where {
  if (kubeconfigFile !== undefined) return { kind: 'file', file: kubeconfigFile, flag: '--kubeconfig' };
  // KUBECONFIG may list several files; the first is where kubectl writes, and the one read here.
  const fromEnv = env.KUBECONFIG?.split(':').find((f) => f !== '');
  if (fromEnv !== undefined) return { kind: 'file', file: fromEnv, flag: 'KUBECONFIG' };
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return { kind: 'file', file: home, flag: '~/.kube/config' };
  if (env.KUBERNETES_SERVICE_HOST) return { kind: 'in-cluster' };
  return { kind: 'none' };
}

/**
 * A kubeconfig that does not load. The YAML parser's message quotes the lines around the
 * fault, which may hold a token or a client key: only its first line (what and where) is
 * kept, and the parser's error is not attached as the cause, since loggers print causes.
 */
function unreadableKubeconfig(where: Where, err: unknown): SwarmkeeperError {
  const what = messageOf(err).split('\n')[0] ?? 'unreadable';
  const from = where.kind === 'file' ? ` ${where.file}` : '';
  const quotesSource = (err as { name?: unknown } | null)?.name === 'YAMLException';
  return new SwarmkeeperError('Usage', `reading the kubeconfig${from}: ${what}`, quotesSource ? {} : { cause: err });
}
