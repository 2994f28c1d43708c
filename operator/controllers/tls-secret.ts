// The TLS Secret cert-manager writes for a policy's Certificate holds the sidecar's
// private key, and cert-manager owns it to nothing (unless its controller runs with
// --enable-certificate-owner-ref, a cluster-wide choice that is not ours). Left alone it
// would outlive both the policy and a TLS switched off. So the operator adds the policy
// as an owner of the Secret (not its controller: cert-manager's Certificate may be that),
// and the garbage collector removes it with the policy; when TLS is turned off, the
// operator deletes it itself.
//
// Which Secret is the one: the Certificate's secretTemplate gives it the policy's labels,
// and cert-manager marks it with the Certificate's name; a Secret of that name without
// both is somebody else's and is never touched.
import { KIND } from '../api/v1alpha1.ts';
import type { KubeObject } from '../kube/client.ts';
import { commonLabels, ownerReference } from '../render/owned.ts';
import type { CachedPolicy, OwnedObject } from './cached.ts';

/** The annotation cert-manager puts on the Secrets it writes. */
export const CERTIFICATE_NAME_ANNOTATION = 'cert-manager.io/certificate-name';

export type TlsSecretAction = 'none' | 'adopt' | 'delete';

/** Whether `live` is the TLS Secret cert-manager wrote for this policy's Certificate `certificateName`. */
export function isPolicyTlsSecret(policy: Pick<CachedPolicy, 'metadata'>, certificateName: string, live: Pick<OwnedObject, 'metadata'>): boolean {
  const labels = live.metadata.labels ?? {};
  return live.metadata.annotations?.[CERTIFICATE_NAME_ANNOTATION] === certificateName && Object.entries(commonLabels(policy)).every(([key, value]) => labels[key] === value);
}

export function ownedBy(live: Pick<OwnedObject, 'metadata'>, uid: string): boolean {
  return live.metadata.ownerReferences?.some((ref) => ref.kind === KIND && ref.uid === uid) ?? false;
}

/** What to do with the TLS Secret: own it while TLS is on, delete it once TLS is off. */
export function tlsSecretAction(policy: Pick<CachedPolicy, 'metadata'>, certificateName: string, certificateWanted: boolean, live: Pick<OwnedObject, 'metadata'> | undefined): TlsSecretAction {
  if (!live || !isPolicyTlsSecret(policy, certificateName, live)) return 'none';
  if (!certificateWanted) return 'delete';
  return ownedBy(live, policy.metadata.uid) ? 'none' : 'adopt';
}

/**
 * The server-side apply that makes the policy an owner of the Secret: only the owner
 * reference, under the operator's field manager; cert-manager's fields stay its own.
 */
export function tlsSecretOwnership(policy: Pick<CachedPolicy, 'metadata'>, secretName: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secretName, namespace: policy.metadata.namespace, ownerReferences: [{ ...ownerReference(policy), controller: false }] },
  };
}
