// Which pod this sidecar runs in, from the environment the webhook gives it (the
// downward API, operator/webhook/inject.ts): what its Events are about. Pure.
export const POD_ENV = {
  name: 'DICOMGUARD_POD_NAME',
  namespace: 'DICOMGUARD_POD_NAMESPACE',
  uid: 'DICOMGUARD_POD_UID',
  /** The DicomAccessPolicy whose config the sidecar runs (a literal value, not the downward API). */
  policy: 'DICOMGUARD_POLICY',
} as const;

export interface PodIdentity {
  readonly name: string;
  readonly namespace: string;
  readonly uid?: string;
  readonly policy?: string;
}

/** The pod, when the sidecar runs in one: both name and namespace set. A standalone sidecar has neither. */
export function podFromEnv(env: NodeJS.ProcessEnv): PodIdentity | undefined {
  const name = env[POD_ENV.name];
  const namespace = env[POD_ENV.namespace];
  if (!name || !namespace) return undefined;
  const uid = env[POD_ENV.uid];
  const policy = env[POD_ENV.policy];
  return { name, namespace, ...(uid ? { uid } : {}), ...(policy ? { policy } : {}) };
}
