// The Kubernetes resources the operator talks to, described once: the client builds its
// URLs from these, the informers watch them, and operator/rbac.ts derives the RBAC rules
// from the same descriptors, so a resource cannot be used without being granted.
import { GROUP, PLURAL, VERSION } from '../api/names.ts';

export interface ResourceType {
  /** API group; '' is the core group (/api/v1). */
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

export const RESOURCES = {
  policies: { group: GROUP, version: VERSION, plural: PLURAL, kind: 'DicomAccessPolicy', namespaced: true },
  pods: { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true },
  namespaces: { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false },
  secrets: { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true },
  configMaps: { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true },
  networkPolicies: { group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', kind: 'NetworkPolicy', namespaced: true },
  certificates: { group: 'cert-manager.io', version: 'v1', plural: 'certificates', kind: 'Certificate', namespaced: true },
  events: { group: 'events.k8s.io', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
  roleBindings: { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'rolebindings', kind: 'RoleBinding', namespaced: true },
  clusterRoles: { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'clusterroles', kind: 'ClusterRole', namespaced: false },
  leases: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true },
  mutatingWebhookConfigurations: { group: 'admissionregistration.k8s.io', version: 'v1', plural: 'mutatingwebhookconfigurations', kind: 'MutatingWebhookConfiguration', namespaced: false },
} as const satisfies Record<string, ResourceType>;

export type ResourceName = keyof typeof RESOURCES;

export const apiVersionOf = (resource: ResourceType): string => (resource.group ? `${resource.group}/${resource.version}` : resource.version);

/** The resource as RBAC and the metrics name it: "pods", "dicomaccesspolicies/status". */
export const resourceLabel = (resource: ResourceType, subresource?: string): string => (subresource ? `${resource.plural}/${subresource}` : resource.plural);

/**
 * The URL path of a collection (no name) or an object: /api/v1/namespaces/NS/pods/NAME,
 * /apis/GROUP/VERSION/PLURAL (every namespace). Names and namespaces are DNS labels and
 * subdomains, but they are encoded anyway.
 */
export function resourcePath(resource: ResourceType, at: { namespace?: string; name?: string; subresource?: string } = {}): string {
  const base = resource.group ? `/apis/${resource.group}/${resource.version}` : `/api/${resource.version}`;
  const namespace = resource.namespaced && at.namespace ? `/namespaces/${encodeURIComponent(at.namespace)}` : '';
  const name = at.name ? `/${encodeURIComponent(at.name)}` : '';
  const subresource = at.name && at.subresource ? `/${at.subresource}` : '';
  return `${base}${namespace}/${resource.plural}${name}${subresource}`;
}

/** The cache key of an object: "namespace/name", or "name" for a cluster-scoped one. */
export const objectKey = (namespace: string | undefined, name: string): string => (namespace ? `${namespace}/${name}` : name);

/** The inverse of objectKey for namespaced keys. */
export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
