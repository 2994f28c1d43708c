// The pod's service account as a container finds it, what client-go's
// rest.InClusterConfig reads: the API server at KUBERNETES_SERVICE_HOST and
// KUBERNETES_SERVICE_PORT (set by the kubelet in every container), its CA and a bearer
// token in SERVICE_ACCOUNT_DIR. The token is projected and rotated by the kubelet, so it
// is read again when a minute has passed, as client-go does.
//
// Not @kubernetes/client-node's KubeConfig: loading that library costs the sidecar
// about 60 MiB of RSS and half a second at start, for three files.
import { readFile } from 'node:fs/promises';
import type { RequestOptions } from 'node:https';
import { join } from 'node:path';
import type { ClusterCredentials } from '../../operator/kube/client.ts';

/** Where the kubelet mounts the token, and where client libraries look for it. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

const TOKEN_REREAD_MS = 60_000;

/** The API server's URL from the kubelet's environment (an IPv6 host in brackets). */
export function inClusterServer(env: NodeJS.ProcessEnv): string | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) return undefined;
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Credentials from the service account directory; throws (naming what is missing) when there are none. */
export async function serviceAccountCredentials(env: NodeJS.ProcessEnv, dir = SERVICE_ACCOUNT_DIR, now: () => number = Date.now): Promise<ClusterCredentials> {
  const server = inClusterServer(env);
  if (!server) throw new Error('KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set');
  const ca = await readFile(join(dir, 'ca.crt')).catch(() => {
    throw new Error(`no service account CA at ${join(dir, 'ca.crt')}`);
  });
  const readToken = async () => (await readFile(join(dir, 'token'), 'utf8')).trim();
  let token = await readToken().catch(() => {
    throw new Error(`no service account token at ${join(dir, 'token')}`);
  });
  let readAt = now();
  return {
    server,
    async applyToHTTPSOptions(options: RequestOptions) {
      if (now() - readAt >= TOKEN_REREAD_MS) {
        // A failed re-read keeps the token we have: the kubelet writes the new one atomically.
        token = await readToken().catch(() => token);
        readAt = now();
      }
      options.ca = ca;
      options.headers = { ...options.headers, authorization: `Bearer ${token}` };
    },
  };
}
