// The permissions the operator needs, in one place: the Helm chart's ClusterRole and Role
// are generated from (or checked against) these, and the end-to-end tests run the
// operator under exactly these rules, so the code cannot need what RBAC does not grant.
// Each rule says why. Verbs are the least that work:
//   - server-side apply is a PATCH; creating an object by apply also needs `create`;
//   - `get` on owned kinds: before creating one, the operator checks that the name is
//     not taken by someone else's object (its caches see only labelled objects);
//   - no `update` on anything but the Lease (optimistic concurrency needs PUT there).
import { RESOURCES, type ResourceType } from './kube/resources.ts';

export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
  readonly resourceNames?: readonly string[];
}

export interface ExplainedRule extends PolicyRule {
  readonly why: string;
}

const rule = (resource: ResourceType, verbs: string[], why: string, subresource?: string): ExplainedRule => ({
  apiGroups: [resource.group],
  resources: [subresource ? `${resource.plural}/${subresource}` : resource.plural],
  verbs,
  why,
});

const OWNED_VERBS = ['get', 'list', 'watch', 'create', 'patch', 'delete'];

/** The ClusterRole (bound with a ClusterRoleBinding; with --namespace, a RoleBinding in that namespace works for all but namespaces). */
export const CLUSTER_RULES: readonly ExplainedRule[] = [
  rule(RESOURCES.policies, ['get', 'list', 'watch'], 'the policies to reconcile (informer)'),
  rule(RESOURCES.policies, ['patch'], 'status: conditions, matchedPods, protectedPods (server-side apply on the status subresource)', 'status'),
  rule(
    RESOURCES.policies,
    ['update'],
    'owned objects carry a controller ownerReference with blockOwnerDeletion; where the OwnerReferencesPermissionEnforcement admission plugin is on (OpenShift), setting it requires update on the owner\'s finalizers',
    'finalizers',
  ),
  rule(RESOURCES.pods, ['list', 'watch'], 'which pods a policy selects (matchedPods, protectedPods) and the addresses of `from` peer pods'),
  rule(RESOURCES.namespaces, ['list', 'watch'], 'namespace labels, for the namespaceSelector of `from` peers'),
  rule(
    RESOURCES.secrets,
    OWNED_VERBS,
    'list/watch: metadata of Secrets, to requeue a policy when a Secret it references appears or changes; get: the data of referenced Secrets; create/patch/delete: the identity Secret each policy owns',
  ),
  rule(RESOURCES.configMaps, OWNED_VERBS, 'the ConfigMap with the rendered SidecarConfig each policy owns'),
  rule(RESOURCES.networkPolicies, OWNED_VERBS, 'the NetworkPolicy each policy owns'),
  rule(RESOURCES.certificates, OWNED_VERBS, 'the cert-manager Certificate of the sidecar\'s server certificate (tls.mode Required or Optional), and its Ready condition'),
  rule(RESOURCES.events, ['create'], 'Events on policies when something fails (a missing Secret, a failed write, a conflict)'),
  rule(RESOURCES.roleBindings, OWNED_VERBS, 'the RoleBinding each policy owns, which lets its sidecars post Events (render/sidecar-role-binding.ts)'),
];

/**
 * Binding a role needs either every permission in it or `bind` on it (RBAC escalation
 * prevention): `bind` on the sidecars' ClusterRole, by name, is what lets the operator
 * create the RoleBindings above, and no other ClusterRole can be bound through them.
 */
export function sidecarBindRules(sidecarClusterRole: string): readonly ExplainedRule[] {
  return [{ ...rule(RESOURCES.clusterRoles, ['bind'], 'bind the sidecars\' ClusterRole (Events create) in each policy\'s RoleBinding, and no other role'), resourceNames: [sidecarClusterRole] }];
}

/**
 * The sidecars' ClusterRole, bound by each policy's RoleBinding to the service accounts
 * of the pods that run its sidecar: a source address locked out becomes an Event on the pod.
 */
export const SIDECAR_RULES: readonly ExplainedRule[] = [rule(RESOURCES.events, ['create'], 'an Event on its pod when a source address is locked out (limits.failedAttempts)')];

/** The Role in the Lease's namespace: leader election. */
export function leaseRules(leaseName: string): readonly ExplainedRule[] {
  return [
    { ...rule(RESOURCES.leases, ['create'], 'create the Lease the first time (RBAC cannot limit create to a name)') },
    { ...rule(RESOURCES.leases, ['get', 'update'], 'read, renew, take over and release the Lease (update: optimistic concurrency on resourceVersion)'), resourceNames: [leaseName] },
  ];
}

/**
 * The injecting webhook's own configuration, by name only: the leader keeps its
 * namespaceSelector to the namespaces that hold a policy (so only candidate pods are sent).
 * Nothing else about webhooks: creating or changing other admission webhooks would be a
 * way to take over the cluster.
 */
export function webhookRules(configurationName: string): readonly ExplainedRule[] {
  return [
    {
      ...rule(RESOURCES.mutatingWebhookConfigurations, ['get', 'patch'], 'keep the webhook\'s namespaceSelector to the namespaces that hold a DicomAccessPolicy (server-side apply of that field only)'),
      resourceNames: [configurationName],
    },
  ];
}

/** Rules as Kubernetes wants them (without `why`). */
export const asPolicyRules = (rules: readonly ExplainedRule[]): PolicyRule[] =>
  rules.map(({ apiGroups, resources, verbs, resourceNames }) => ({ apiGroups: [...apiGroups], resources: [...resources], verbs: [...verbs], ...(resourceNames ? { resourceNames: [...resourceNames] } : {}) }));
