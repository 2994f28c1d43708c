// Where the sidecar finds what the operator renders, and what the objects are called.
// Defined once: the renderer writes these paths into the SidecarConfig, the webhook
// mounts the objects there.
import type { V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { Wire } from '../kube/wire.ts';

export type Volume = Wire<V1Volume>;
export type VolumeMount = Wire<V1VolumeMount>;

export const SIDECAR_CONFIG_DIR = '/etc/dicom-guard/config';
export const SIDECAR_IDENTITY_DIR = '/etc/dicom-guard/identity';
export const SIDECAR_TLS_DIR = '/etc/dicom-guard/tls';

/** The ConfigMap key, and so the file name, of the rendered SidecarConfig. */
export const SIDECAR_CONFIG_KEY = 'sidecar.yaml';
export const SIDECAR_CONFIG_FILE = `${SIDECAR_CONFIG_DIR}/${SIDECAR_CONFIG_KEY}`;

/** Keys of the identity Secret (file names under SIDECAR_IDENTITY_DIR). */
export const IDENTITY_KEYS = {
  htpasswd: 'htpasswd',
  jwks: 'jwks.json',
  clientCA: 'client-ca.crt',
  ldapCA: 'ldap-ca.crt',
  // Edge mode: the remote's CA, and the identity presented to it.
  upstreamCA: 'upstream-ca.crt',
  upstreamPasscode: 'upstream-passcode',
  upstreamJwt: 'upstream-token.jwt',
  // The audit repository's CA.
  auditCA: 'audit-ca.crt',
} as const;
export type IdentityMaterial = keyof typeof IDENTITY_KEYS;

/** Keys cert-manager writes into the Certificate's Secret (kubernetes.io/tls). */
export const TLS_KEYS = { cert: 'tls.crt', key: 'tls.key' } as const;

export const identityFile = (material: IdentityMaterial) => `${SIDECAR_IDENTITY_DIR}/${IDENTITY_KEYS[material]}`;
export const tlsFile = (part: keyof typeof TLS_KEYS) => `${SIDECAR_TLS_DIR}/${TLS_KEYS[part]}`;

export interface PolicyObjectNames {
  readonly networkPolicy: string;
  readonly configMap: string;
  readonly identitySecret: string;
  readonly certificate: string;
  /** The Secret cert-manager keeps the server certificate and key in. */
  readonly tlsSecret: string;
  /** The RoleBinding that lets the sidecars' service accounts post Events (render/sidecar-role-binding.ts). */
  readonly roleBinding: string;
}

/** Names of the objects owned by a policy (a policy name has at most 63 characters, so these fit). */
export function objectNames(policyName: string): PolicyObjectNames {
  const base = `${policyName}-dicom-guard`;
  return { networkPolicy: base, configMap: base, identitySecret: `${base}-identity`, certificate: `${base}-tls`, tlsSecret: `${base}-tls`, roleBinding: `${base}-sidecar` };
}

export const VOLUME_NAMES = { config: 'dicom-guard-config', identity: 'dicom-guard-identity', tls: 'dicom-guard-tls' } as const;

/**
 * The volumes the webhook adds to a protected pod, and the sidecar container's mounts.
 * All three are always mounted, the identity and TLS Secrets as optional, so that a
 * policy that later adds identity material or turns TLS on takes effect by a config
 * reload, without restarting the PACS pod.
 */
export function sidecarVolumes(policyName: string): { volumes: Volume[]; volumeMounts: VolumeMount[] } {
  const names = objectNames(policyName);
  return {
    volumes: [
      { name: VOLUME_NAMES.config, configMap: { name: names.configMap } },
      { name: VOLUME_NAMES.identity, secret: { secretName: names.identitySecret, optional: true } },
      { name: VOLUME_NAMES.tls, secret: { secretName: names.tlsSecret, optional: true } },
    ],
    volumeMounts: [
      { name: VOLUME_NAMES.config, mountPath: SIDECAR_CONFIG_DIR, readOnly: true },
      { name: VOLUME_NAMES.identity, mountPath: SIDECAR_IDENTITY_DIR, readOnly: true },
      { name: VOLUME_NAMES.tls, mountPath: SIDECAR_TLS_DIR, readOnly: true },
    ],
  };
}
