// The objects a policy should own, as one pure function of what the reconcile read: the
// policy, the pods its `from` selectors pick, the Secrets it references, the service
// accounts of the pods that run its sidecar. The controller
// applies what is here (server-side apply), deletes owned objects whose kind is not
// desired, and leaves the ConfigMap and identity Secret alone when `error` says the
// sidecar material could not be rendered: the sidecars keep their last good config.
// Every object is in the wire format: send it as JSON (the apply patch body), not through
// client-node's ObjectSerializer, which renames fields (NetworkPolicy `from`).
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { Wire } from '../kube/wire.ts';
import type { DicomAccessPolicy } from '../api/v1alpha1.ts';
import { certificateWanted, renderCertificate, type Certificate } from './certificate.ts';
import { RenderError } from './errors.ts';
import { identityMaterial, referencedSecrets, type ReferencedSecrets } from './material.ts';
import { objectNames, SIDECAR_CONFIG_KEY } from './mounts.ts';
import { renderNetworkPolicy, type NetworkPolicy } from './network-policy.ts';
import { ownedMetadata } from './owned.ts';
import type { PeerPods } from './peers.ts';
import { DEFAULT_RENDER_SETTINGS, sidecarConfigYaml, type RenderSettings } from './sidecar-config.ts';
import { renderSidecarRoleBinding, type RoleBinding } from './sidecar-role-binding.ts';

export type ConfigMap = Wire<V1ConfigMap>;
export type Secret = Wire<V1Secret>;

export const OWNED_KINDS = ['NetworkPolicy', 'Certificate', 'ConfigMap', 'Secret', 'RoleBinding'] as const;
export type OwnedKind = (typeof OWNED_KINDS)[number];

/** The annotation on the ConfigMap naming the config it holds (sha256 of sidecar.yaml). */
export const CONFIG_SHA256_ANNOTATION = 'dicomguard.io/config-sha256';

export interface RenderInput {
  readonly policy: Pick<DicomAccessPolicy, 'metadata' | 'spec'>;
  /** resolvePeerPods(policy, pods, namespaces). */
  readonly peerPods: PeerPods;
  /** The referenced Secrets' data (referencedSecrets(policy) says which). */
  readonly secrets: ReferencedSecrets;
  /** sidecarServiceAccounts(policy, pods): who the sidecars post Events as. */
  readonly sidecarServiceAccounts?: readonly string[];
  readonly settings?: RenderSettings;
}

export interface DesiredObjects {
  /** The kinds the policy should own now; owned objects of other kinds are to be deleted. */
  readonly kinds: ReadonlySet<OwnedKind>;
  readonly networkPolicy?: NetworkPolicy;
  readonly certificate?: Certificate;
  readonly configMap?: ConfigMap;
  readonly identitySecret?: Secret;
  readonly roleBinding: RoleBinding;
  /** sha256 of the rendered sidecar.yaml, when it rendered. */
  readonly configSha256?: string;
  /** Why the ConfigMap and identity Secret are missing although desired. */
  readonly error?: RenderError;
}

/** Which kinds of object a policy should own, from its spec alone. */
export function desiredKinds(policy: Pick<DicomAccessPolicy, 'spec'>): ReadonlySet<OwnedKind> {
  const kinds = new Set<OwnedKind>(['ConfigMap', 'RoleBinding']);
  if (policy.spec.networkPolicy.enabled) kinds.add('NetworkPolicy');
  if (certificateWanted(policy.spec)) kinds.add('Certificate');
  if (referencedSecrets(policy).length > 0) kinds.add('Secret');
  return kinds;
}

function sidecarMaterial({ policy, peerPods, secrets, settings = DEFAULT_RENDER_SETTINGS }: RenderInput): Pick<DesiredObjects, 'configMap' | 'identitySecret' | 'configSha256'> {
  const names = objectNames(policy.metadata.name);
  const material = identityMaterial(policy, secrets);
  if (!material.data) throw new RenderError(`${policy.metadata.namespace}/${policy.metadata.name}`, material.problems);
  const config = sidecarConfigYaml(policy, peerPods, settings);
  const configMap: ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: ownedMetadata(policy, names.configMap, { [CONFIG_SHA256_ANNOTATION]: config.sha256 }),
    data: { [SIDECAR_CONFIG_KEY]: config.yaml },
  };
  const identitySecret: Secret | undefined =
    Object.keys(material.data).length > 0 ? { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: ownedMetadata(policy, names.identitySecret), data: material.data } : undefined;
  return { configMap, configSha256: config.sha256, ...(identitySecret ? { identitySecret } : {}) };
}

export function desiredObjects(input: RenderInput): DesiredObjects {
  const { policy, settings = DEFAULT_RENDER_SETTINGS } = input;
  const networkPolicy = renderNetworkPolicy(policy);
  const certificate = renderCertificate(policy, settings);
  const roleBinding = renderSidecarRoleBinding(policy, input.sidecarServiceAccounts ?? [], settings.sidecarClusterRole);
  const owned = { kinds: desiredKinds(policy), roleBinding, ...(networkPolicy ? { networkPolicy } : {}), ...(certificate ? { certificate } : {}) };
  try {
    return { ...owned, ...sidecarMaterial(input) };
  } catch (error) {
    if (error instanceof RenderError) return { ...owned, error };
    throw error;
  }
}
