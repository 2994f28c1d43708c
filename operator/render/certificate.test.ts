// The cert-manager Certificate for tls.mode Required or Optional.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { asStored } from '../api/defaults.ts';
import { API_VERSION, KIND, type DicomAccessPolicySpecInput } from '../api/v1alpha1.ts';
import { renderCertificate } from './certificate.ts';
import { DEFAULT_RENDER_SETTINGS } from './sidecar-config.ts';

const server = { uid: 'uid-1', creationTimestamp: '2025-01-01T00:00:00Z' };
const withTls = (tls: DicomAccessPolicySpecInput['tls']) =>
  asStored({ apiVersion: API_VERSION, kind: KIND, metadata: { name: 'main-pacs', namespace: 'imaging' }, spec: { selector: { matchLabels: { app: 'orthanc' } }, calledAETitles: ['PACS'], tls } }, server);

const labels = { 'app.kubernetes.io/managed-by': 'dicom-guard', 'dicomguard.io/policy': 'main-pacs' };

test('TLS Required: an RSA 2048 server certificate, a new key at each renewal', () => {
  assert.equal(renderCertificate(withTls({ mode: 'Required', issuerRef: { name: 'hospital-ca', kind: 'ClusterIssuer' }, dnsNames: ['pacs.imaging.svc', 'pacs.hospital.example.org'] })), {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: {
      name: 'main-pacs-dicom-guard-tls',
      namespace: 'imaging',
      labels,
      ownerReferences: [{ apiVersion: 'dicomguard.io/v1alpha1', kind: 'DicomAccessPolicy', name: 'main-pacs', uid: 'uid-1', controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      secretName: 'main-pacs-dicom-guard-tls',
      secretTemplate: { labels },
      commonName: 'pacs.imaging.svc',
      dnsNames: ['pacs.imaging.svc', 'pacs.hospital.example.org'],
      duration: '2160h',
      renewBefore: '720h',
      issuerRef: { name: 'hospital-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' },
      privateKey: { algorithm: 'RSA', size: 2048, rotationPolicy: 'Always' },
      usages: ['server auth', 'digital signature', 'key encipherment'],
    },
  });
});

test('ECDSA P-256, IP SANs, an Issuer by default', () => {
  const spec = renderCertificate(withTls({ mode: 'Optional', keyAlgorithm: 'ECDSA', issuerRef: { name: 'local' }, dnsNames: ['pacs'], ipAddresses: ['10.20.0.5'] }))?.spec;
  assert.equal(spec?.privateKey, { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' });
  assert.equal(spec?.usages, ['server auth', 'digital signature']);
  assert.equal(spec?.ipAddresses, ['10.20.0.5']);
  assert.equal(spec?.issuerRef, { name: 'local', kind: 'Issuer', group: 'cert-manager.io' });
});

test('a first DNS name longer than a CN may be: no commonName', () => {
  const long = `${'a'.repeat(60)}.example.org`;
  const spec = renderCertificate(withTls({ mode: 'Required', issuerRef: { name: 'ca' }, dnsNames: [long] }))?.spec;
  assert.is(spec?.commonName, undefined);
  assert.equal(spec?.dnsNames, [long]);
});

test('durations come from the settings', () => {
  const spec = renderCertificate(withTls({ mode: 'Required', issuerRef: { name: 'ca' }, dnsNames: ['pacs'] }), { ...DEFAULT_RENDER_SETTINGS, certificateDuration: '720h', certificateRenewBefore: '240h' })?.spec;
  assert.equal([spec?.duration, spec?.renewBefore], ['720h', '240h']);
});

test('TLS Disabled: no Certificate', () => {
  assert.is(renderCertificate(withTls({ mode: 'Disabled' })), undefined);
  assert.is(renderCertificate(withTls(undefined)), undefined);
});

test('an audit repository with clientCertificate: the server certificate gets client auth too', () => {
  const policy = asStored(
    {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name: 'main-pacs', namespace: 'imaging' },
      spec: {
        selector: { matchLabels: { app: 'orthanc' } },
        calledAETitles: ['PACS'],
        tls: { mode: 'Required', issuerRef: { name: 'ca' }, dnsNames: ['pacs.imaging.svc'] },
        audit: { syslog: { host: 'audit.hospital.example.org', clientCertificate: true } },
      },
    },
    server,
  );
  assert.equal(renderCertificate(policy)!.spec.usages, ['server auth', 'client auth', 'digital signature', 'key encipherment']);
});

test('edge mode: the pod\'s certificate is its client certificate toward the upstream (client auth), and its server certificate too when it serves TLS', () => {
  const edge = (mode: 'Disabled' | 'Required') =>
    asStored(
      {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: 'edge', namespace: 'imaging' },
        spec: {
          selector: { matchLabels: { app: 'edge' } },
          calledAETitles: ['PACS'],
          upstream: { host: 'pacs.remote.example.org', port: 11112, tls: { clientCertificate: true } },
          tls: { mode, issuerRef: { name: 'hospital-ca', kind: 'ClusterIssuer' }, dnsNames: ['edge-a.hospital.example.org'] },
        },
      },
      server,
    );
  const clientOnly = renderCertificate(edge('Disabled'))!;
  assert.equal([clientOnly.spec.commonName, clientOnly.spec.dnsNames, clientOnly.spec.secretName], ['edge-a.hospital.example.org', ['edge-a.hospital.example.org'], 'edge-dicom-guard-tls']);
  assert.equal(clientOnly.spec.usages, ['client auth', 'digital signature', 'key encipherment']);
  assert.equal(renderCertificate(edge('Required'))!.spec.usages, ['server auth', 'client auth', 'digital signature', 'key encipherment']);
});

test.run();
