// Where the Kubernetes spec source finds its API server: --kubeconfig, else the
// KUBECONFIG variable, else ~/.kube/config, else the in-cluster service account
// (KUBERNETES_SERVICE_HOST and the mounted token), the order kubectl and client-go use.
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { SwarmkeeperError } from '../errors.ts';

export function loadKubeConfig(kubeconfigFile?: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (kubeconfigFile !== undefined) {
      if (!existsSync(kubeconfigFile)) throw new SwarmkeeperError('Usage', `--kubeconfig ${kubeconfigFile}: no such file`);
      kc.loadFromFile(kubeconfigFile);
    } else {
      kc.loadFromDefault();
    }
  } catch (err) {
    if (err instanceof SwarmkeeperError) throw err;
    throw new SwarmkeeperError('Usage', `reading the kubeconfig: ${(err as Error).message}`, { cause: err });
  }
  if (!kc.getCurrentCluster()) {
    throw new SwarmkeeperError('Usage', 'no Kubernetes API server: give --kubeconfig, set KUBECONFIG, or run in a pod with a service account');
  }
  return kc;
}
