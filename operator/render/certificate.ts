// The cert-manager Certificate of the sidecar's server certificate (tls.mode Required or
// Optional). cert-manager writes the key pair into the Secret the webhook mounts under
// SIDECAR_TLS_DIR; the sidecar reloads it when it is renewed.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { DicomAccessPolicy } from '../api/v1alpha1.ts';
import { objectNames } from './mounts.ts';
import { commonLabels, ownedMetadata } from './owned.ts';
import { DEFAULT_RENDER_SETTINGS, type RenderSettings } from './sidecar-config.ts';

/** The fields of cert-manager.io/v1 Certificate the operator sets (cert-manager's API reference). */
export interface Certificate {
  apiVersion: 'cert-manager.io/v1';
  kind: 'Certificate';
  metadata: V1ObjectMeta;
  spec: {
    secretName: string;
    secretTemplate?: { labels?: Record<string, string>; annotations?: Record<string, string> };
    commonName?: string;
    dnsNames?: string[];
    ipAddresses?: string[];
    duration?: string;
    renewBefore?: string;
    issuerRef: { name: string; kind?: string; group?: string };
    privateKey?: { algorithm?: 'RSA' | 'ECDSA' | 'Ed25519'; size?: number; rotationPolicy?: 'Never' | 'Always'; encoding?: 'PKCS1' | 'PKCS8' };
    usages?: string[];
  };
}

// RFC 5280: a subject CN has at most 64 characters.
const MAX_COMMON_NAME = 64;

/** The Certificate, or undefined when tls.mode is Disabled. */
export function renderCertificate(policy: Pick<DicomAccessPolicy, 'metadata' | 'spec'>, settings: RenderSettings = DEFAULT_RENDER_SETTINGS): Certificate | undefined {
  const { tls } = policy.spec;
  if (tls.mode === 'Disabled' || !tls.issuerRef) return undefined;
  const names = objectNames(policy.metadata.name);
  const dnsNames = tls.dnsNames ?? [];
  const rsa = tls.keyAlgorithm === 'RSA';
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: ownedMetadata(policy, names.certificate),
    spec: {
      secretName: names.tlsSecret,
      secretTemplate: { labels: commonLabels(policy) },
      // Older DICOM devices check the subject CN and ignore subjectAltName.
      ...(dnsNames[0] && dnsNames[0].length <= MAX_COMMON_NAME ? { commonName: dnsNames[0] } : {}),
      dnsNames,
      ...(tls.ipAddresses?.length ? { ipAddresses: tls.ipAddresses } : {}),
      duration: settings.certificateDuration,
      renewBefore: settings.certificateRenewBefore,
      issuerRef: { name: tls.issuerRef.name, kind: tls.issuerRef.kind, group: tls.issuerRef.group },
      // A new key at every renewal: a leaked key stops being useful at the next one.
      privateKey: rsa ? { algorithm: 'RSA', size: 2048, rotationPolicy: 'Always' } : { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      // RSA key exchange (TLS 1.2 without ECDHE, which old modalities still use) needs key encipherment.
      usages: rsa ? ['server auth', 'digital signature', 'key encipherment'] : ['server auth', 'digital signature'],
    },
  };
}
