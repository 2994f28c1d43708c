// Metadata every object a policy owns carries: the common labels and the controller
// owner reference (garbage-collected with the policy; blockOwnerDeletion so that a
// foreground deletion of the policy waits for them).
import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import type { Wire } from '../kube/wire.ts';

export type ObjectMeta = Wire<V1ObjectMeta>;
import { API_VERSION, KIND, type DicomAccessPolicy } from '../api/v1alpha1.ts';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'dicom-guard';
export const POLICY_LABEL = 'dicomguard.io/policy';

export function commonLabels(policy: Pick<DicomAccessPolicy, 'metadata'>): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY, [POLICY_LABEL]: policy.metadata.name };
}

export function ownerReference(policy: Pick<DicomAccessPolicy, 'metadata'>): V1OwnerReference {
  return { apiVersion: API_VERSION, kind: KIND, name: policy.metadata.name, uid: policy.metadata.uid, controller: true, blockOwnerDeletion: true };
}

export function ownedMetadata(policy: Pick<DicomAccessPolicy, 'metadata'>, name: string, annotations?: Record<string, string>): ObjectMeta {
  return {
    name,
    namespace: policy.metadata.namespace,
    labels: commonLabels(policy),
    ...(annotations ? { annotations } : {}),
    ownerReferences: [ownerReference(policy)],
  };
}
