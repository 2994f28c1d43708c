// Where the operator's credentials come from: --kubeconfig, else $KUBECONFIG, else the
// pod's ServiceAccount (in-cluster), the order client-go's clientcmd uses.
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { SERVICE_ACCOUNT_DIR } from '../../sidecar/events/service-account.ts';

const SERVICE_ACCOUNT_TOKEN = `${SERVICE_ACCOUNT_DIR}/token`;

export function loadKubeConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): { config: KubeConfig; source: string } {
  const config = new KubeConfig();
  const file = path ?? env.KUBECONFIG?.split(':').find((f) => f.length > 0);
  if (file) {
    config.loadFromFile(file);
    return { config, source: file };
  }
  if (env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) {
    config.loadFromCluster();
    return { config, source: 'in-cluster ServiceAccount' };
  }
  throw new Error('no Kubernetes credentials: pass --kubeconfig FILE, set KUBECONFIG, or run in a pod with a ServiceAccount token');
}

/** The namespace the pod runs in (the ServiceAccount's), for the default lease namespace. */
export const SERVICE_ACCOUNT_NAMESPACE_FILE = `${SERVICE_ACCOUNT_DIR}/namespace`;
