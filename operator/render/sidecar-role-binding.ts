// The RoleBinding that lets a policy's sidecars post Events (a source address locked out
// after limits.failedAttempts refusals) to the API server.
//
// A container can only hold its pod's identity, so the sidecar posts with the PACS
// pod's service account. The ClusterRole bound here (the chart's `<release>-sidecar`)
// grants `create` on events.k8s.io Events and nothing else; it is bound in the policy's
// namespace only, and only to the service accounts of the pods that run this policy's
// sidecar (the pods whose config volume is this policy's ConfigMap, protection.ts). The
// operator may bind that one ClusterRole (`bind` with resourceNames, operator/rbac.ts)
// and no other, so this binding cannot grant more than Events.
import type { V1RoleBinding, V1RoleRef } from '@kubernetes/client-node';
import type { DicomAccessPolicy } from '../api/v1alpha1.ts';
import type { Wire, With } from '../kube/wire.ts';
import { objectNames } from './mounts.ts';
import { ownedMetadata } from './owned.ts';
import { finished } from './peers.ts';

export type RoleBinding = With<Wire<V1RoleBinding>, 'apiVersion' | 'kind' | 'metadata' | 'subjects'> & {
  roleRef: Wire<V1RoleRef>;
  subjects: Wire<NonNullable<V1RoleBinding['subjects']>[number]>[];
};

/** A pod as far as this binding cares. */
export interface SidecarPod {
  readonly namespace: string;
  readonly sidecarConfigMap?: string;
  readonly serviceAccount?: string;
  readonly phase?: string;
}

/**
 * The service accounts of the pods in the policy's namespace that run its sidecar,
 * sorted and without repeats. Finished pods run nothing. A pod without
 * serviceAccountName runs as "default" (the ServiceAccount admission plugin's choice).
 */
export function sidecarServiceAccounts(policy: Pick<DicomAccessPolicy, 'metadata'>, pods: readonly SidecarPod[]): string[] {
  const configMap = objectNames(policy.metadata.name).configMap;
  const accounts = new Set<string>();
  for (const pod of pods) {
    if (pod.namespace !== policy.metadata.namespace || pod.sidecarConfigMap !== configMap) continue;
    if (finished(pod)) continue;
    accounts.add(pod.serviceAccount || 'default');
  }
  return [...accounts].sort();
}

/** Always rendered, with no subjects when no pod runs the sidecar yet (a valid, inert binding). */
export function renderSidecarRoleBinding(policy: Pick<DicomAccessPolicy, 'metadata'>, serviceAccounts: readonly string[], clusterRole: string): RoleBinding {
  const { namespace } = policy.metadata;
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: ownedMetadata(policy, objectNames(policy.metadata.name).roleBinding),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
    subjects: serviceAccounts.map((name) => ({ kind: 'ServiceAccount', name, namespace })),
  };
}
