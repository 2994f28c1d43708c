// The cert-manager Certificate of the pod: the sidecar's server certificate (tls.mode
// Required or Optional), and in edge mode its client certificate toward the upstream
// (upstream.tls.clientCertificate) and toward the audit repository
// (audit.syslog.clientCertificate): one key pair, one name, one renewal. cert-manager writes the key pair into the Secret the webhook mounts under
// SIDECAR_TLS_DIR; the sidecar reloads it when it is renewed.
import type { DicomAccessPolicy } from '../api/v1alpha1.ts';
import type { CERTIFICATE_SCHEMA } from '../api/generated/cert-manager.ts';
import type { FromSchema } from '../api/structural.ts';
import { objectNames } from './mounts.ts';
import { commonLabels, ownedMetadata, type ObjectMeta } from './owned.ts';
import { DEFAULT_RENDER_SETTINGS, type RenderSettings } from './sidecar-config.ts';

/** cert-manager.io/v1 Certificate, typed from cert-manager's own CRD schema (api/generated/cert-manager.ts), as one writes it. */
type CertificateObject = FromSchema<typeof CERTIFICATE_SCHEMA, 'written'>;

export type Certificate = Omit<CertificateObject, 'apiVersion' | 'kind' | 'metadata' | 'spec' | 'status'> & {
  apiVersion: 'cert-manager.io/v1';
  kind: 'Certificate';
  metadata: ObjectMeta;
  spec: NonNullable<CertificateObject['spec']>;
};

// RFC 5280: a subject CN has at most 64 characters.
const MAX_COMMON_NAME = 64;

/** Whether the pod needs a certificate: to serve TLS, or to present to the upstream (edge mode). */
export function certificateWanted(spec: Pick<DicomAccessPolicy, 'spec'>['spec']): boolean {
  return spec.tls.mode !== 'Disabled' || clientCertificateWanted(spec);
}

/** The pod's certificate is also its client certificate: toward the upstream (edge mode), or the audit repository. */
export function clientCertificateWanted(spec: Pick<DicomAccessPolicy, 'spec'>['spec']): boolean {
  return spec.upstream.tls?.clientCertificate === true || spec.audit.syslog?.clientCertificate === true;
}

/** The Certificate, or undefined when the pod needs none. */
export function renderCertificate(policy: Pick<DicomAccessPolicy, 'metadata' | 'spec'>, settings: RenderSettings = DEFAULT_RENDER_SETTINGS): Certificate | undefined {
  const { tls } = policy.spec;
  if (!certificateWanted(policy.spec) || !tls.issuerRef) return undefined;
  const serving = tls.mode !== 'Disabled';
  const client = clientCertificateWanted(policy.spec);
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
      // RSA key exchange (TLS 1.2 without ECDHE, which old modalities still use) needs key
      // encipherment; client auth when the pod presents it to a remote upstream.
      usages: [...(serving ? (['server auth'] as const) : []), ...(client ? (['client auth'] as const) : []), 'digital signature', ...(rsa ? (['key encipherment'] as const) : [])],
    },
  };
}
